import test from 'ava';
import { createLogThrottle, type ThrottleTimers } from '../../src/log/throttle.ts';

/** A clock and timers moved by hand: a window closes exactly when the test says. */
function manual() {
  let clock = 1_000_000;
  const pending = new Map<number, { at: number; run: () => void }>();
  let ids = 0;
  const timers: ThrottleTimers = {
    set(run, ms) {
      const id = ++ids;
      pending.set(id, { at: clock + ms, run });
      return id;
    },
    clear: (id) => void pending.delete(id as number),
  };
  return {
    now: () => clock,
    timers,
    pending: () => pending.size,
    skip(ms: number) {
      clock += ms;
    },
    advance(ms: number) {
      clock += ms;
      for (const [id, timer] of [...pending]) {
        if (timer.at > clock) continue;
        pending.delete(id);
        timer.run();
      }
    },
  };
}

function setUp(limit: number, windowMs = 10_000) {
  const time = manual();
  const reports: Array<[string, number, number]> = [];
  const throttle = createLogThrottle<string>({
    limit,
    windowMs,
    now: time.now,
    timers: time.timers,
    report: (key, leftOut, since) => reports.push([key, leftOut, since]),
  });
  return { time, reports, throttle };
}

test('per key, the first `limit` lines of a window pass and the rest are reported once when it ends', (t) => {
  const { time, reports, throttle } = setUp(2);
  const admitted = Array.from({ length: 5 }, () => throttle.admit('store'));
  t.deepEqual(admitted, [true, true, false, false, false]);
  t.true(throttle.admit('upstream'), 'another kind has its own budget');
  time.advance(4_000);
  t.false(throttle.admit('store'));
  t.deepEqual(reports, [], 'nothing is reported before the window ends');
  time.advance(6_000);
  t.deepEqual(reports, [['store', 4, 1_000_000]], 'one line at the end of the window, by its timer');
  t.is(time.pending(), 0);
  t.true(throttle.admit('store'), 'a new window lets lines through again');
});

test('a line after the window reports the last one at once, when its timer has not run yet', (t) => {
  const { time, reports, throttle } = setUp(1, 1000);
  t.deepEqual([throttle.admit('k'), throttle.admit('k'), throttle.admit('k')], [true, false, false]);
  time.skip(1500); // the event loop was busy: the timer is due but has not run
  t.true(throttle.admit('k'));
  t.deepEqual(reports, [['k', 2, 1_000_000]]);
  t.is(time.pending(), 0, 'the due timer was cancelled, so the count is not reported twice');
});

test('flush reports every pending count (at shutdown), and nothing twice', (t) => {
  const { time, reports, throttle } = setUp(1);
  for (let i = 0; i < 3; i++) throttle.admit('a');
  for (let i = 0; i < 2; i++) throttle.admit('b');
  throttle.flush();
  t.deepEqual(reports, [
    ['a', 2, 1_000_000],
    ['b', 1, 1_000_000],
  ]);
  t.is(time.pending(), 0);
  time.advance(20_000);
  throttle.flush();
  t.is(reports.length, 2);
});

test('limit 0 admits everything and arms no timer', (t) => {
  const { time, reports, throttle } = setUp(0);
  for (let i = 0; i < 1000; i++) t.true(throttle.admit('k'));
  throttle.flush();
  t.deepEqual(reports, []);
  t.is(time.pending(), 0);
});

test('the number of keys is bounded: past maxKeys, new keys share the last budget', (t) => {
  const time = manual();
  const reports: Array<[string, number]> = [];
  const throttle = createLogThrottle<string>({
    limit: 1,
    windowMs: 1000,
    maxKeys: 2,
    now: time.now,
    timers: time.timers,
    report: (key, leftOut) => reports.push([key, leftOut]),
  });
  t.deepEqual(
    ['a', 'b', 'c', 'd', 'a'].map((key) => throttle.admit(key)),
    [true, true, false, false, false],
  );
  throttle.flush();
  t.deepEqual(reports, [
    ['a', 1],
    ['b', 2],
  ]);
});
