import test from 'ava';
import { createReadiness } from '../../src/admin/readiness.ts';

/** A store whose answer the test decides. */
function controllableStore() {
  let behaviour: () => Promise<void> = async () => {};
  let calls = 0;
  return {
    ping: () => {
      calls++;
      return behaviour();
    },
    up() {
      behaviour = async () => {};
    },
    down(message: string) {
      behaviour = async () => {
        throw new Error(message);
      };
    },
    hang() {
      behaviour = () => new Promise<void>(() => {});
    },
    calls: () => calls,
  };
}

function setup() {
  const store = controllableStore();
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const readiness = createReadiness({ ping: store.ping, intervalMs: 5000, timeoutMs: 30, now: () => clock });
  return { store, readiness, advance: (ms: number) => (clock += ms) };
}

test('not ready until the session store has answered once', (t) => {
  const { readiness } = setup();
  t.like(readiness.report(), {
    status: 'not_ready',
    problems: ['session store: no answer yet'],
    checks: { config: { ok: true }, store: { ok: false, lastSuccessAt: null }, shutdown: { ok: true } },
  });
});

test('ready after a successful ping', async (t) => {
  const { readiness } = setup();
  await readiness.check();
  t.like(readiness.report(), {
    status: 'ready',
    problems: [],
    checks: { store: { ok: true, lastSuccessAt: '2026-01-01T00:00:00.000Z', error: null } },
  });
});

test('a failing store makes it not ready with a scrubbed reason, and recovery makes it ready again', async (t) => {
  const { readiness, store, advance } = setup();
  await readiness.check();
  advance(5000);
  store.down(
    'password authentication failed: postgres://flower:hunter2pw@db:5432/app sessionid=abcdef123456',
  );
  await readiness.check();
  const report = readiness.report();
  t.is(report.status, 'not_ready');
  t.is(report.checks.store.lastFailureAt, '2026-01-01T00:00:05.000Z');
  t.is(report.checks.store.lastSuccessAt, '2026-01-01T00:00:00.000Z');
  t.regex(report.problems[0]!, /^session store: password authentication failed/);
  t.false(JSON.stringify(report).includes('hunter2pw'));
  t.false(JSON.stringify(report).includes('abcdef123456'));

  advance(5000);
  store.up();
  await readiness.check();
  t.like(readiness.report(), { status: 'ready', checks: { store: { ok: true, error: null } } });
});

test('a ping that does not answer within the timeout counts as a failure', async (t) => {
  const { readiness, store } = setup();
  store.hang();
  await readiness.check();
  t.deepEqual(readiness.report().problems, ['session store: no answer within 30 ms']);
});

test('an old success no longer counts once the pinger has been quiet for three intervals', async (t) => {
  const { readiness, advance } = setup();
  await readiness.check();
  advance(15_000);
  t.is(readiness.report().status, 'ready');
  advance(1);
  t.deepEqual(readiness.report().problems, ['session store: last answered 15 s ago']);
});

test('shutting down makes it not ready even with a healthy store', async (t) => {
  const { readiness } = setup();
  await readiness.check();
  readiness.markShuttingDown();
  t.like(readiness.report(), {
    status: 'not_ready',
    problems: ['shutting down'],
    checks: { store: { ok: true }, shutdown: { ok: false } },
  });
});

test('concurrent checks share one ping', async (t) => {
  const { readiness, store } = setup();
  await Promise.all([readiness.check(), readiness.check(), readiness.check()]);
  t.is(store.calls(), 1);
});

test('start() pings at once and then every interval; stop() ends it', async (t) => {
  const store = controllableStore();
  // maxAgeMs: by default 3 intervals (30 ms), which a busy machine can spend between the last ping and report()
  const readiness = createReadiness({ ping: store.ping, intervalMs: 10, timeoutMs: 100, maxAgeMs: 60_000 });
  readiness.start();
  readiness.start(); // idempotent
  // Poll rather than sleep a fixed time: a loaded CI machine may delay 10 ms timers a lot.
  for (let deadline = Date.now() + 5000; store.calls() < 3 && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  readiness.stop();
  const calls = store.calls();
  t.true(calls >= 3, `${calls} pings`);
  t.is(readiness.report().status, 'ready');
  await new Promise((resolve) => setTimeout(resolve, 40));
  t.true(store.calls() <= calls + 1, 'no pings after stop(), beyond one already in flight');
});
