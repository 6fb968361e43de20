// Large bodies stream through the sidecar proxy both ways without being buffered: a 256 MiB download and a
// 256 MiB upload through `node src/cli.ts serve`, with the flowergate process's RSS sampled from /proc while
// they run. The numbers go to the test log; they are not asserted, so a slow machine cannot fail the test.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { Readable } from 'node:stream';
import { djangoTool, startDjangoSite } from '../support/e2e.ts';
import { startFlowerUpstream } from '../support/flower-upstream.ts';
import { toolTest } from '../support/require-tool.ts';
import { PREFIX, startGateProcess } from './harness.ts';

const maybe = await toolTest('tornado', djangoTool());
const SIZE = 256 << 20;
const MiB = (bytes: number) => `${(bytes / (1 << 20)).toFixed(1)} MiB`;

/** VmRSS of a process, in bytes. */
function rss(pid: number): number {
  const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(line?.[1] ?? 0) * 1024;
}

/** Samples a process's RSS every 25 ms while `work` runs. */
async function peakRss<T>(
  pid: number,
  work: () => Promise<T>,
): Promise<{ result: T; before: number; peak: number }> {
  const before = rss(pid);
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, rss(pid));
  }, 25);
  try {
    return { result: await work(), before, peak };
  } finally {
    clearInterval(timer);
  }
}

/** byte i is i % 251, generated 1 MiB at a time, like the upstream's /stream. */
function patternStream(size: number): Readable {
  const block = Buffer.alloc(251 * 4096);
  for (let i = 0; i < block.length; i++) block[i] = i % 251;
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const n = Math.min(block.length, size - sent);
      this.push(block.subarray(0, n)); // block length is a multiple of 251, so every chunk starts at 0
      sent += n;
    },
  });
}

function patternSha256(size: number): string {
  const hash = createHash('sha256');
  const block = Buffer.alloc(251 * 4096);
  for (let i = 0; i < block.length; i++) block[i] = i % 251;
  for (let sent = 0; sent < size; sent += block.length)
    hash.update(block.subarray(0, Math.min(block.length, size - sent)));
  return hash.digest('hex');
}

maybe('a 256 MiB download and a 256 MiB upload stream through the proxy with bounded memory', async (t) => {
  const [site, flower] = await Promise.all([
    startDjangoSite({ t }),
    startFlowerUpstream({ prefix: 'flower', t }),
  ]);
  const root = await site.cookie('root');
  const gate = await startGateProcess({ site, upstream: flower, t });
  const pid = gate.proc.pid;

  const download = await peakRss(
    pid,
    () =>
      new Promise<{ status: number; bytes: number; sha256: string; expected: string }>((resolve, reject) => {
        const req = http.get(`${gate.url}${PREFIX}/stream?size=${SIZE}&chunk=${1 << 20}`, {
          headers: { cookie: root },
          agent: false,
        });
        req.on('response', (res) => {
          const hash = createHash('sha256');
          let bytes = 0;
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            hash.update(chunk);
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              bytes,
              sha256: hash.digest('hex'),
              expected: String(res.headers['x-body-sha256']),
            }),
          );
          res.on('error', reject);
        });
        req.on('error', reject);
      }),
  );
  t.is(download.result.status, 200);
  t.is(download.result.bytes, SIZE);
  t.is(download.result.sha256, download.result.expected);
  t.log(`download ${MiB(SIZE)}: flowergate RSS ${MiB(download.before)} before, ${MiB(download.peak)} peak`);

  const upload = await peakRss(
    pid,
    () =>
      new Promise<{
        status: number;
        body: { bytes: number; sha256: string; transferEncoding: string | null };
      }>((resolve, reject) => {
        const req = http.request(`${gate.url}${PREFIX}/upload`, {
          method: 'POST',
          headers: { cookie: root, origin: gate.url, 'content-type': 'application/octet-stream' },
          agent: false,
        });
        req.on('response', (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        });
        req.on('error', reject);
        patternStream(SIZE).pipe(req);
      }),
  );
  t.is(upload.result.status, 200);
  t.is(upload.result.body.bytes, SIZE);
  t.is(upload.result.body.sha256, patternSha256(SIZE));
  t.is(upload.result.body.transferEncoding, 'chunked');
  t.log(`upload ${MiB(SIZE)}: flowergate RSS ${MiB(upload.before)} before, ${MiB(upload.peak)} peak`);
});
