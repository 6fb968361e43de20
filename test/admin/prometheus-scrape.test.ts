import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { createAdminApp } from '../../src/admin/admin-server.ts';
import { createReadiness } from '../../src/admin/readiness.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { eventually } from '../support/eventually.ts';
import { freePort, makeTempDir, removeDir, startProcess } from '../support/processes.ts';
import { toolTest } from '../support/require-tool.ts';

const RULES = new URL('../../deploy/prometheus/flowergate-rules.yaml', import.meta.url).pathname;

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

const withPrometheus = await toolTest('prometheus');

withPrometheus(
  'a real Prometheus scrapes the admin port, answers decision counts and evaluates the rules',
  async (t) => {
    const registry = new Registry();
    const metrics = createMetrics({ registry, version: '0.0.0-test' });
    for (let i = 0; i < 3; i++) metrics.decision('nginx', 'allow', 'ok', 0.0002, 'hit');
    metrics.decision('nginx', 'unauthenticated', 'no_cookie', 0.0001, 'miss');
    metrics.storeQuery('sqlite', 'ok', 0.0004);

    const readiness = createReadiness({ ping: async () => {}, intervalMs: 5000, timeoutMs: 100 });
    const admin = createAdminApp({ registry, readiness }).listen(0, '127.0.0.1');
    await once(admin, 'listening');
    t.teardown(() => new Promise<void>((resolve) => admin.close(() => resolve())));
    const target = `127.0.0.1:${(admin.address() as AddressInfo).port}`;

    const dir = makeTempDir('prometheus');
    t.teardown(() => removeDir(dir));
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      JSON.stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: [RULES],
        scrape_configs: [{ job_name: 'flowergate', static_configs: [{ targets: [target] }] }],
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
      { readyPort: port, timeoutMs: 60_000, t },
    );
    const api = async <T>(path: string): Promise<T> => {
      const response = await fetch(`http://127.0.0.1:${port}/api/v1/${path}`);
      return ((await response.json()) as { data: T }).data;
    };

    let samples: Sample[] = [];
    // Prometheus opens its port before its API answers; on a loaded machine the first scrape is late too.
    for (let deadline = Date.now() + 60_000; Date.now() < deadline; ) {
      samples = await api<{ result: Sample[] }>('query?query=flowergate_auth_decisions_total')
        .then((data) => data?.result ?? [])
        .catch(() => []);
      if (samples.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const counts = Object.fromEntries(
      samples.map((s) => [`${s.metric.decision}/${s.metric.reason}`, Number(s.value[1])]),
    );
    t.deepEqual(counts, { 'allow/ok': 3, 'unauthenticated/no_cookie': 1 });
    t.is(samples[0]?.metric.job, 'flowergate');

    // Wait until every rule has been evaluated since the series were there (every 1 s, later on a loaded
    // machine; an evaluation before the first scrape leaves FlowergateAllDown pending), then check none errored.
    const scraped = Date.now();
    type Rule = { name: string; health: string; lastError?: string; lastEvaluation?: string };
    const evaluated = await eventually(
      async () => (await api<{ groups: { rules: Rule[] }[] }>('rules')).groups.flatMap((g) => g.rules),
      (rules) =>
        rules.length > 0 &&
        rules.every((r) => r.health !== 'unknown' && Date.parse(r.lastEvaluation ?? '') > scraped),
      { timeoutMs: 60_000, everyMs: 250 },
    );
    t.is(evaluated.length, 8);
    t.deepEqual(
      evaluated.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`),
      [],
    );
    const firing = (await api<{ alerts: { labels: { alertname: string } }[] }>('alerts')).alerts;
    t.deepEqual(
      firing.map((a) => a.labels.alertname),
      [],
      'a healthy, freshly scraped flowergate raises no alert',
    );
  },
);
