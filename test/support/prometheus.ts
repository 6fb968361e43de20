// A real Prometheus scraping given targets every second, in a temp dir, for end-to-end tests.
//
//   const prom = await startPrometheus({ targets: ['127.0.0.1:9464'], t });
//   const samples = await prom.query('flowergate_auth_decisions_total', (s) => s.length > 0);

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, makeTempDir, removeDir, startProcess, type Teardown } from './processes.ts';

export interface PrometheusSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface Prometheus {
  url: string;
  /** Runs an instant query until `done` accepts the result (Prometheus and its first scrapes are late on a busy machine), up to 60 s. */
  query(expr: string, done: (samples: PrometheusSample[]) => boolean): Promise<PrometheusSample[]>;
}

export async function startPrometheus(options: { targets: string[]; t: Teardown }): Promise<Prometheus> {
  const dir = makeTempDir('prometheus');
  options.t.teardown(async () => removeDir(dir));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    JSON.stringify({
      global: { scrape_interval: '1s' },
      scrape_configs: [{ job_name: 'flowergate', static_configs: [{ targets: options.targets }] }],
    }),
  );
  const port = await freePort();
  await startProcess(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
    ],
    { readyPort: port, timeoutMs: 60_000, removeOnOrphan: [dir], t: options.t },
  );
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    async query(expr, done) {
      let samples: PrometheusSample[] = [];
      for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
        samples = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`)
          .then(
            async (r) => ((await r.json()) as { data?: { result?: PrometheusSample[] } }).data?.result ?? [],
          )
          .catch(() => []);
        if (done(samples)) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      return samples;
    },
  };
}
