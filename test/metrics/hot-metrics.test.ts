import test from 'ava';
import { Counter, Histogram, Registry, type RegistryContentType } from 'prom-client';
import { HotCounter, HotHistogram } from '../../src/metrics/hot-metrics.ts';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const VALUES = [0, 0.0005, 0.001, 0.0011, 0.05, 0.1, 0.7, 1, 3, 1e9];

/** The same series and observations through prom-client's own classes and through ours. */
function both(openMetrics = false) {
  const make = () => {
    const registry = new Registry();
    if (openMetrics)
      (registry as Registry<RegistryContentType>).setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    return registry;
  };
  const [theirs, ours] = [make(), make()];
  const counter = new Counter({
    name: 'x_decisions_total',
    help: 'Decisions "by" \\ reason.',
    labelNames: ['dialect', 'reason'],
    registers: [theirs],
  });
  const histogram = new Histogram({
    name: 'x_duration_seconds',
    help: 'Time.',
    labelNames: ['dialect', 'cache'],
    buckets: BUCKETS,
    registers: [theirs],
  });
  const hotCounter = new HotCounter({
    name: 'x_decisions_total',
    help: 'Decisions "by" \\ reason.',
    labelNames: ['dialect', 'reason'],
    registry: ours,
  });
  const hotHistogram = new HotHistogram({
    name: 'x_duration_seconds',
    help: 'Time.',
    labelNames: ['dialect', 'cache'],
    buckets: BUCKETS,
    registry: ours,
  });
  const feed = () => {
    for (const [dialect, reason, n] of [
      ['nginx', 'ok', 3],
      ['envoy', 'no_cookie', 1],
      ['nginx', 'label "quoted"\nnewline\\', 2],
      ['nginx', 'zero', 0],
    ] as const) {
      counter.labels(dialect, reason).inc(n);
      hotCounter.cell(dialect, reason).inc(n);
    }
    for (const [i, value] of VALUES.entries()) {
      const dialect = i % 3 ? 'nginx' : 'forward';
      histogram.labels(dialect, i % 2 ? 'hit' : 'miss').observe(value);
      hotHistogram.cell(dialect, i % 2 ? 'hit' : 'miss').observe(value);
    }
  };
  return { theirs, ours, feed, hotCounter, hotHistogram };
}

test("the exposition is prom-client's own, byte for byte: text, OpenMetrics and JSON", async (t) => {
  for (const openMetrics of [false, true]) {
    const { theirs, ours, feed } = both(openMetrics);
    t.is(await ours.metrics(), await theirs.metrics(), 'before any observation');
    feed();
    feed();
    const text = await ours.metrics();
    t.is(text, await theirs.metrics(), openMetrics ? 'OpenMetrics' : 'text');
    t.regex(text, /x_duration_seconds_bucket\{le="0.01",dialect="nginx",cache="hit"\} \d/);
    // As JSON (prom-client's histogram values also carry `exemplar: undefined`, which JSON drops).
    const json = async (r: Registry) => JSON.parse(JSON.stringify(await r.getMetricsAsJSON()));
    t.deepEqual(await json(ours), await json(theirs));
  }
});

test("reset zeroes every series, as prom-client's registry reset does", async (t) => {
  const { theirs, ours, feed } = both();
  feed();
  theirs.resetMetrics();
  ours.resetMetrics();
  feed();
  // prom-client forgets its series on reset; ours keeps them at zero until used again, and all are used.
  t.is(await ours.metrics(), await theirs.metrics());
});

test('a cell is bound once per label set; a wrong label count or value is refused as prom-client refuses it', (t) => {
  const { hotCounter, hotHistogram } = both();
  t.is(hotCounter.cell('nginx', 'ok'), hotCounter.cell('nginx', 'ok'));
  t.not(hotCounter.cell('nginx', 'ok'), hotCounter.cell('nginx', 'ko'));
  t.throws(() => hotCounter.cell('nginx'), { message: /2 label values expected, got 1/ });
  t.throws(() => hotCounter.cell('nginx', 'ok').inc(-1), { instanceOf: TypeError });
  t.throws(() => hotHistogram.cell('nginx', 'hit').observe(Number.NaN), { instanceOf: TypeError });
});
