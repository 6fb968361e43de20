import { createHash } from 'node:crypto';
import test from 'ava';
import fc from 'fast-check';
import { cacheKey, createReviewCache } from '../../src/kube/review-cache.ts';
import { manualClock } from '../support/kube/harness.ts';

type Verdict = { ok: boolean; n: number };

function setup(options: { allowTtl?: number; denyTtl?: number; maxEntries?: number } = {}) {
  const clock = manualClock();
  const cache = createReviewCache<Verdict>({
    maxEntries: options.maxEntries ?? 100,
    allowTtl: options.allowTtl ?? 120,
    denyTtl: options.denyTtl ?? 30,
    isAllow: (v) => v.ok,
    now: clock.now,
  });
  const calls: string[] = [];
  const loader =
    (key: string, ok = true) =>
    async (): Promise<Verdict> => {
      calls.push(key);
      return { ok, n: calls.length };
    };
  return { clock, cache, calls, loader };
}

test('a fresh answer is served from the cache, then expires after its TTL', async (t) => {
  const { clock, cache, calls, loader } = setup({ allowTtl: 120 });
  t.deepEqual(await cache.get('tok', loader('tok')), { value: { ok: true, n: 1 }, source: 'miss' });
  clock.advance(119.9);
  t.deepEqual(await cache.get('tok', loader('tok')), { value: { ok: true, n: 1 }, source: 'hit' });
  clock.advance(0.1);
  t.deepEqual(await cache.get('tok', loader('tok')), { value: { ok: true, n: 2 }, source: 'miss' });
  t.deepEqual(calls, ['tok', 'tok']);
});

test('allowing and refusing answers have their own TTLs', async (t) => {
  const { clock, cache, calls, loader } = setup({ allowTtl: 300, denyTtl: 30 });
  await cache.get('yes', loader('yes', true));
  await cache.get('no', loader('no', false));
  clock.advance(30);
  t.is((await cache.get('yes', loader('yes'))).source, 'hit');
  t.is((await cache.get('no', loader('no', false))).source, 'miss');
  clock.advance(270);
  t.is((await cache.get('yes', loader('yes'))).source, 'miss');
  t.deepEqual(calls, ['yes', 'no', 'no', 'yes']);
});

test('a TTL of 0 stores nothing of that kind', async (t) => {
  const { cache, calls, loader } = setup({ allowTtl: 60, denyTtl: 0 });
  await cache.get('no', loader('no', false));
  await cache.get('no', loader('no', false));
  await cache.get('yes', loader('yes'));
  await cache.get('yes', loader('yes'));
  t.deepEqual(calls, ['no', 'no', 'yes']);
  t.is(cache.size, 1);
});

test('at maxEntries the least recently used entry goes', async (t) => {
  const { cache, calls, loader } = setup({ maxEntries: 2 });
  await cache.get('a', loader('a'));
  await cache.get('b', loader('b'));
  await cache.get('a', loader('a')); // a is now the most recent
  await cache.get('c', loader('c')); // evicts b
  t.is(cache.size, 2);
  t.is((await cache.get('a', loader('a'))).source, 'hit');
  t.is((await cache.get('b', loader('b'))).source, 'miss');
  t.deepEqual(calls, ['a', 'b', 'c', 'b']);
});

test('never holds more than maxEntries, whatever the sequence', async (t) => {
  await t.notThrowsAsync(
    fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.tuple(fc.string({ maxLength: 3 }), fc.boolean(), fc.integer({ min: 0, max: 200 }))),
        async (maxEntries, steps) => {
          const { clock, cache, loader } = setup({ maxEntries });
          for (const [key, ok, seconds] of steps) {
            clock.advance(seconds);
            await cache.get(key, loader(key, ok));
            if (cache.size > maxEntries) return false;
          }
          return true;
        },
      ),
    ),
  );
});

test('concurrent lookups of the same key share one call (single flight)', async (t) => {
  const { cache } = setup();
  let release: (v: Verdict) => void = () => {};
  let loads = 0;
  const load = () => {
    loads += 1;
    return new Promise<Verdict>((resolve) => {
      release = resolve;
    });
  };
  const pending = Array.from({ length: 10 }, () => cache.get('tok', load));
  await new Promise((r) => setImmediate(r));
  release({ ok: true, n: 42 });
  const results = await Promise.all(pending);
  t.is(loads, 1);
  t.deepEqual(
    results.map((r) => r.source),
    ['miss', ...Array(9).fill('coalesced')],
  );
  t.true(results.every((r) => r.value.n === 42));
  t.is((await cache.get('tok', load)).source, 'hit');
});

test('a failure reaches every waiting caller and is never cached', async (t) => {
  const { cache } = setup();
  let loads = 0;
  const failing = async (): Promise<Verdict> => {
    loads += 1;
    await new Promise((r) => setTimeout(r, 5));
    throw new Error('API server down');
  };
  const results = await Promise.allSettled([cache.get('tok', failing), cache.get('tok', failing)]);
  t.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  );
  t.is(loads, 1);
  t.is(cache.size, 0);
  t.deepEqual(await cache.get('tok', async () => ({ ok: true, n: 7 })), {
    value: { ok: true, n: 7 },
    source: 'miss',
  });
});

test('a load that throws synchronously leaves nothing in flight', async (t) => {
  const { cache } = setup();
  await t.throwsAsync(
    cache.get('tok', () => {
      throw new Error('boom');
    }),
    { message: 'boom' },
  );
  t.is((await cache.get('tok', async () => ({ ok: true, n: 1 }))).source, 'miss');
});

test('keys are the SHA-256 of the material, never the material', (t) => {
  const token = 'eyJhbGciOiJSUzI1NiJ9.payload.signature';
  t.is(cacheKey(token), createHash('sha256').update(token).digest('hex'));
  t.false(cacheKey(token).includes(token));
});
