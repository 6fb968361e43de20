import { spawnSync } from 'node:child_process';
import test from 'ava';
import {
  register as globalRegistry,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from 'prom-client';
import type { CacheLabel, DecisionKind, Dialect } from '../../src/decision/labels.ts';
import {
  DECISION_VALUES,
  DIALECT_VALUES,
  ENGINE_VALUES,
  KUBE_KIND_VALUES,
  KUBE_RESULT_VALUES,
  REASON_VALUES,
  STORE_RESULT_VALUES,
} from '../../src/metrics/bounded-labels.ts';
import {
  createMetrics,
  DECISION_BUCKETS,
  type DecisionCacheResult,
  type KubeReviewKind,
  type KubeReviewResult,
  type Metrics,
  PROXY_BUCKETS,
  STORE_BUCKETS,
  type StoreEngine,
  type StoreResult,
  type UpstreamErrorKind,
} from '../../src/metrics/metrics.ts';
import type { Reason } from '../../src/reasons.ts';
import { toolTest } from '../support/require-tool.ts';

/** The Metrics table of PRODUCT.md, the contract with users' dashboards and alerts. */
const PRODUCT_METRICS = {
  flowergate_auth_decisions_total: { type: 'counter', labels: ['decision', 'dialect', 'reason'] },
  flowergate_auth_decision_duration_seconds: { type: 'histogram', labels: ['cache', 'dialect'] },
  flowergate_proxy_request_duration_seconds: { type: 'histogram', labels: ['code', 'method'] },
  flowergate_proxy_upstream_errors_total: { type: 'counter', labels: ['kind'] },
  flowergate_session_store_duration_seconds: { type: 'histogram', labels: ['engine', 'result'] },
  flowergate_decision_cache_total: { type: 'counter', labels: ['result'] },
  flowergate_kube_reviews_total: { type: 'counter', labels: ['cached', 'kind', 'result'] },
  flowergate_build_info: { type: 'gauge', labels: ['node_version', 'version'] },
} as const;

const isDefaultMetric = (name: string) => /^flowergate_(process|nodejs)_/.test(name);

function setup(): { registry: Registry; metrics: Metrics } {
  const registry = new Registry();
  return { registry, metrics: createMetrics({ registry, version: '1.2.3' }) };
}

function exerciseAll(metrics: Metrics): void {
  metrics.decision('nginx', 'allow', 'ok', 0.0002, 'hit');
  metrics.proxyRequest('GET', 200, 0.03);
  metrics.upstreamError('connect');
  metrics.storeQuery('postgres', 'ok', 0.001);
  metrics.decisionCache('miss');
  metrics.kubeReview('token', 'allow', false);
}

async function custom(registry: Registry): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
  const all = await registry.getMetricsAsJSON();
  return all.filter((m) => !isDefaultMetric(m.name)) as MetricObjectWithValues<MetricValue<string>>[];
}

function labelNames(metric: MetricObjectWithValues<MetricValue<string>>): string[] {
  const names = new Set<string>();
  for (const value of metric.values)
    for (const key of Object.keys(value.labels)) if (key !== 'le') names.add(key);
  return [...names].sort();
}

/** One series per distinct label set; a histogram's buckets, sum and count belong to one series. */
function seriesKeys(metrics: MetricObjectWithValues<MetricValue<string>>[]): Set<string> {
  const keys = new Set<string>();
  for (const metric of metrics) {
    for (const value of metric.values) {
      const { le: _le, ...labels } = value.labels;
      keys.add(`${metric.name}${JSON.stringify(Object.entries(labels).sort())}`);
    }
  }
  return keys;
}

test('registers exactly the metrics of PRODUCT.md, with their types and labels', async (t) => {
  const { registry, metrics } = setup();
  exerciseAll(metrics);
  const found = Object.fromEntries(
    (await custom(registry)).map((m) => [m.name, { type: m.type, labels: labelNames(m) }]),
  );
  t.deepEqual(found, PRODUCT_METRICS as unknown as typeof found);
});

test('registers the runtime default metrics under the flowergate_ prefix, and nothing unprefixed', async (t) => {
  const { registry } = setup();
  const all = await registry.getMetricsAsJSON();
  const names = all.map((m) => m.name);
  t.true(
    names.every((n) => n.startsWith('flowergate_')),
    names.filter((n) => !n.startsWith('flowergate_')).join(),
  );
  for (const name of [
    'flowergate_process_cpu_seconds_total',
    'flowergate_process_resident_memory_bytes',
    'flowergate_nodejs_eventloop_lag_p99_seconds',
    'flowergate_nodejs_heap_size_used_bytes',
    'flowergate_nodejs_active_handles',
  ]) {
    t.true(names.includes(name), name);
  }
  // prom-client's misnamed `_total` gauges are dropped (they duplicate sum() of the by-type gauges).
  t.deepEqual(
    all.filter((m) => m.name.endsWith('_total') && String(m.type) !== 'counter').map((m) => m.name),
    [],
  );
});

test('uses only the injected registry, never the global one', async (t) => {
  const before = (await globalRegistry.getMetricsAsJSON()).length;
  const a = setup();
  const b = setup(); // a second instance must not collide with the first
  exerciseAll(a.metrics);
  exerciseAll(b.metrics);
  t.is((await globalRegistry.getMetricsAsJSON()).length, before);
});

test('flowergate_build_info is 1 and names the version and Node.js', async (t) => {
  const registry = new Registry();
  createMetrics({ registry, version: '1.2.3', nodeVersion: 'v24.0.0' });
  const text = await registry.metrics();
  t.regex(text, /^flowergate_build_info\{version="1\.2\.3",node_version="v24\.0\.0"\} 1$/m);
});

test('decisions count by dialect, decision and reason, and time by dialect and cache', async (t) => {
  const { registry, metrics } = setup();
  metrics.decision('nginx', 'allow', 'ok', 0.00003, 'hit');
  metrics.decision('nginx', 'allow', 'ok', 0.0004, 'hit');
  metrics.decision('forward', 'forbidden', 'not_superuser', 0.003, 'miss');
  metrics.decision('envoy', 'error', 'store_unavailable', 2, 'miss');
  const text = await registry.metrics();
  t.regex(text, /^flowergate_auth_decisions_total\{dialect="nginx",decision="allow",reason="ok"\} 2$/m);
  t.regex(
    text,
    /^flowergate_auth_decisions_total\{dialect="forward",decision="forbidden",reason="not_superuser"\} 1$/m,
  );
  t.regex(
    text,
    /^flowergate_auth_decision_duration_seconds_bucket\{le="0\.00005",dialect="nginx",cache="hit"\} 1$/m,
  );
  t.regex(
    text,
    /^flowergate_auth_decision_duration_seconds_bucket\{le="0\.0005",dialect="nginx",cache="hit"\} 2$/m,
  );
  t.regex(
    text,
    /^flowergate_auth_decision_duration_seconds_bucket\{le="1",dialect="envoy",cache="miss"\} 0$/m,
  );
  t.regex(text, /^flowergate_auth_decision_duration_seconds_count\{dialect="envoy",cache="miss"\} 1$/m);
});

test('buckets span what each histogram measures', (t) => {
  t.is(DECISION_BUCKETS[0], 0.00005);
  t.is(DECISION_BUCKETS.at(-1), 1);
  t.true(DECISION_BUCKETS.includes(0.25), 'the p99 alert threshold is a bucket bound');
  t.is(PROXY_BUCKETS[0], 0.005);
  t.is(PROXY_BUCKETS.at(-1), 60);
  t.is(STORE_BUCKETS[0], 0.0001);
  t.is(STORE_BUCKETS.at(-1), 2);
  for (const buckets of [DECISION_BUCKETS, PROXY_BUCKETS, STORE_BUCKETS]) {
    t.deepEqual(
      [...buckets].sort((a, b) => a - b),
      [...buckets],
    );
  }
});

test('small counters start at zero, so rate() sees the first event', async (t) => {
  const { registry } = setup();
  const text = await registry.metrics();
  for (const kind of ['connect', 'timeout', 'reset', 'other']) {
    t.regex(text, new RegExp(`^flowergate_proxy_upstream_errors_total\\{kind="${kind}"\\} 0$`, 'm'));
  }
  for (const result of ['hit', 'miss', 'coalesced']) {
    t.regex(text, new RegExp(`^flowergate_decision_cache_total\\{result="${result}"\\} 0$`, 'm'));
  }
  t.regex(text, /^flowergate_kube_reviews_total\{kind="access",result="error",cached="true"\} 0$/m);
});

test('proxy methods outside the usual set count as OTHER; codes keep their number or their class', async (t) => {
  const { registry, metrics } = setup();
  metrics.proxyRequest('GET', 200, 0.01);
  metrics.proxyRequest('get', 200, 0.01);
  metrics.proxyRequest('PROPFIND', 207, 0.01);
  metrics.proxyRequest('DELETE', 599, 0.01);
  metrics.proxyRequest('POST', 1000, 0.01);
  metrics.proxyRequest('POST', 200.5, 0.01);
  const text = await registry.metrics();
  const series = [...text.matchAll(/^flowergate_proxy_request_duration_seconds_count\{(.*)\} (\d+)$/gm)].map(
    (m) => `${m[1]} ${m[2]}`,
  );
  t.deepEqual(series.sort(), [
    'method="DELETE",code="5xx" 1',
    'method="GET",code="200" 1',
    'method="OTHER",code="200" 1',
    'method="OTHER",code="207" 1',
    'method="POST",code="other" 2',
  ]);
});

test('a broken clock (NaN, negative, Infinity) never throws on the hot path', async (t) => {
  const { registry, metrics } = setup();
  t.notThrows(() => {
    metrics.decision('nginx', 'allow', 'ok', Number.NaN, 'hit');
    metrics.proxyRequest('GET', 200, -1);
    metrics.storeQuery('sqlite', 'ok', Number.POSITIVE_INFINITY);
  });
  t.regex(
    await registry.metrics(),
    /^flowergate_session_store_duration_seconds_count\{engine="sqlite",result="ok"\} 1$/m,
  );
});

// Anything a client controls: paths, user names, cookies, header values, odd numbers.
function randomJunk(i: number): string {
  const kinds = [
    () => `/flower/task/${crypto.randomUUID()}?q=${i}`,
    () => `user${i}@example.com`,
    () => `sessionid=${crypto.randomUUID().replaceAll('-', '')}`,
    () => `Bearer eyJ${i.toString(36)}`,
    () => String.fromCharCode(...Array.from({ length: 8 }, () => 32 + Math.floor(Math.random() * 90))),
  ];
  return kinds[i % kinds.length]!();
}

function flood(metrics: Metrics, count: number, seen: string[]): void {
  const pick = <T>(values: readonly T[], i: number): T => values[i % values.length]!;
  for (let i = 0; i < count; i++) {
    const junk = randomJunk(i);
    if (i < 50) seen.push(junk);
    // Half the calls use valid values, half smuggle client input past the types.
    const valid = i % 2 === 0;
    const s = <T>(values: readonly T[]) => (valid ? pick(values, i * 7919) : (junk as unknown as T));
    metrics.decision(
      s<Dialect>(DIALECT_VALUES),
      s<DecisionKind>(DECISION_VALUES),
      s<Reason>(REASON_VALUES),
      Math.random(),
      s<CacheLabel>(['hit', 'miss']),
    );
    metrics.proxyRequest(
      valid ? 'GET' : junk,
      valid ? 100 + (i % 500) : (i * 7.3) % 2000,
      Math.random() * 100,
    );
    metrics.upstreamError(s<UpstreamErrorKind>(['connect', 'timeout', 'reset', 'other']));
    metrics.storeQuery(s<StoreEngine>(ENGINE_VALUES), s<StoreResult>(STORE_RESULT_VALUES), Math.random());
    metrics.decisionCache(s<DecisionCacheResult>(['hit', 'miss', 'coalesced']));
    metrics.kubeReview(
      s<KubeReviewKind>(KUBE_KIND_VALUES),
      s<KubeReviewResult>(KUBE_RESULT_VALUES),
      (valid ? i % 3 === 0 : junk) as boolean,
    );
  }
}

const ALLOWED: Record<string, (value: string) => boolean> = {
  dialect: (v) => [...DIALECT_VALUES, 'other'].includes(v as Dialect),
  decision: (v) => DECISION_VALUES.includes(v as DecisionKind),
  reason: (v) => REASON_VALUES.includes(v as Reason),
  cache: (v) => v === 'hit' || v === 'miss',
  method: (v) => ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'OTHER'].includes(v),
  code: (v) => /^(?:[1-5]\d\d|[1-5]xx|other)$/.test(v),
  kind: (v) => ['connect', 'timeout', 'reset', 'other', 'token', 'access'].includes(v),
  engine: (v) => [...ENGINE_VALUES, 'other'].includes(v as StoreEngine),
  result: (v) => ['ok', 'miss', 'error', 'timeout', 'hit', 'coalesced', 'allow', 'deny'].includes(v),
  cached: (v) => v === 'true' || v === 'false',
};

test('a flood of client-controlled values keeps every label in its enum and the series count bounded', async (t) => {
  const { registry, metrics } = setup();
  const samples: string[] = [];
  flood(metrics, 10_000, samples);
  const afterFirst = seriesKeys(await custom(registry));
  flood(metrics, 10_000, samples);
  const all = await custom(registry);
  const afterSecond = seriesKeys(all);

  for (const metric of all) {
    for (const value of metric.values) {
      for (const [name, label] of Object.entries(value.labels)) {
        if (name === 'le' || metric.name === 'flowergate_build_info') continue;
        t.true(ALLOWED[name]?.(String(label)) ?? false, `${metric.name}{${name}="${label}"}`);
      }
    }
  }
  t.true(afterSecond.size <= afterFirst.size + 10, `${afterFirst.size} series, then ${afterSecond.size}`);
  // Upper bound from the enums: decisions 5×4×28, durations 5×2, proxy 8×(63 codes+5 classes+other), ...
  t.true(afterSecond.size < 1500, `${afterSecond.size} series`);
  const text = await registry.metrics();
  for (const junk of samples) t.false(text.includes(junk), junk);
});

const withPromtool = await toolTest('promtool');

withPromtool('the exposition passes promtool check metrics with no warnings', async (t) => {
  const { registry, metrics } = setup();
  flood(metrics, 2_000, []);
  const exposition = await registry.metrics();
  const result = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  t.is(`${result.stdout}${result.stderr}`.trim(), '');
  t.is(result.status, 0);
});
