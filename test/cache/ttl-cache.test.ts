import test from 'ava';
import { createTtlCache } from '../../src/cache/ttl-cache.ts';

const clock = () => {
  let now = 0;
  return { now: () => now, advance: (ms: number) => (now += ms) };
};

test('separate lifetimes for allow and deny answers', async (t) => {
  const time = clock();
  const cache = createTtlCache<string>({
    maxEntries: 10,
    ttlMs: (v) => (v === 'allow' ? 5000 : 1000),
    now: time.now,
  });
  let loads = 0;
  const load = (value: string) => async () => {
    loads++;
    return value;
  };
  await cache.get('a', load('allow'));
  await cache.get('d', load('deny'));
  time.advance(1500);
  t.is((await cache.get('a', load('allow'))).result, 'hit');
  t.is((await cache.get('d', load('deny'))).result, 'miss');
  time.advance(4000);
  t.is((await cache.get('a', load('allow'))).result, 'miss');
  t.is(loads, 4);
});

test('concurrent misses for one key share one load', async (t) => {
  const cache = createTtlCache<number>({ maxEntries: 10, ttlMs: () => 1000 });
  let loads = 0;
  const load = () => new Promise<number>((resolve) => setTimeout(() => resolve(++loads), 10));
  const results = await Promise.all(Array.from({ length: 20 }, () => cache.get('k', load)));
  t.is(loads, 1);
  t.is(results.filter((r) => r.result === 'coalesced').length, 19);
  t.true(results.every((r) => r.value === 1));
});

test('failures are not cached', async (t) => {
  const cache = createTtlCache<number>({ maxEntries: 10, ttlMs: () => 1000 });
  await t.throwsAsync(cache.get('k', () => Promise.reject(new Error('store down'))));
  t.is((await cache.get('k', async () => 7)).value, 7);
});

test('size stays bounded, oldest entries go first', async (t) => {
  const cache = createTtlCache<number>({ maxEntries: 100, ttlMs: () => 60_000 });
  for (let i = 0; i < 1000; i++) await cache.get(`k${i}`, async () => i);
  // Full means the oldest sixteenth (7 of 100) goes at once.
  t.true(cache.size <= 100 && cache.size > 90, `size ${cache.size}`);
  t.is((await cache.get('k999', async () => -1)).result, 'hit');
  t.is((await cache.get('k0', async () => -1)).result, 'miss');
});

test('a zero lifetime means not cached', async (t) => {
  const cache = createTtlCache<number>({ maxEntries: 10, ttlMs: () => 0 });
  await cache.get('k', async () => 1);
  t.is((await cache.get('k', async () => 2)).result, 'miss');
});

test('peek answers a fresh entry without loading, and nothing for a missing or expired one', async (t) => {
  let clock = 0;
  const cache = createTtlCache<number>({ maxEntries: 10, ttlMs: () => 1000, now: () => clock });
  t.is(cache.peek('k'), undefined);
  await cache.get('k', async () => 5);
  t.is(cache.peek('k'), 5);
  clock = 1000;
  t.is(cache.peek('k'), undefined);
  t.is(cache.size, 0);
});
