// A large answer streamed through a proxy to a fast or slow reader, with the proxy's RSS sampled meanwhile.

import http from 'node:http';
import { pageRequest, superuserKey } from './requests.ts';
import { memoryOf } from './system.ts';

/** GETs a large answer, reading fast or slowly, and samples the server's RSS while it streams. */
export async function stream(
  url: string,
  pid: number,
  slow: boolean,
): Promise<{ mibPerS: number; beforeMiB: number; peakMiB: number; bytes: number; ok: boolean }> {
  const before = memoryOf(pid)?.rssKiB ?? 0;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, memoryOf(pid)?.rssKiB ?? 0);
  }, 20);
  const started = performance.now();
  try {
    const { bytes, expected } = await new Promise<{ bytes: number; expected: number }>((resolve, reject) => {
      const request = http.get(url, { agent: false, headers: pageRequest(superuserKey).headers }, (res) => {
        let bytes = 0;
        const expected = Number(res.headers['content-length'] ?? -1);
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (slow) {
            // ~64 KiB every 10 ms: about 6 MiB/s, far slower than the upstream sends.
            res.pause();
            setTimeout(() => res.resume(), 10 * (chunk.length / 65536));
          }
        });
        res.on('end', () => resolve({ bytes, expected }));
        res.on('error', reject);
      });
      request.on('error', reject);
    });
    const seconds = (performance.now() - started) / 1000;
    peak = Math.max(peak, memoryOf(pid)?.rssKiB ?? 0);
    return {
      mibPerS: bytes / 2 ** 20 / seconds,
      beforeMiB: before / 1024,
      peakMiB: peak / 1024,
      bytes,
      ok: bytes === expected,
    };
  } finally {
    clearInterval(timer);
  }
}
