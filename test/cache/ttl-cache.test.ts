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

test('with kinds, a flood of one kind of answer cannot evict the other', async (t) => {
  const cache = createTtlCache<string>({
    maxEntries: 32,
    ttlMs: () => 60_000,
    kind: (v) => (v.startsWith('allow') ? 0 : 1),
  });
  for (let i = 0; i < 10; i++) await cache.get(`user-${i}`, async () => `allow ${i}`);
  for (let i = 0; i < 1000; i++) await cache.get(`forged-${i}`, async () => 'deny');
  for (let i = 0; i < 10; i++) t.is(cache.peek(`user-${i}`), `allow ${i}`, `user-${i} kept`);
  t.true(cache.size <= 10 + 32, `bounded per kind: ${cache.size}`);
  t.is(cache.peek('forged-999'), 'deny');
  t.is(cache.peek('forged-0'), undefined, 'the oldest denials went');

  // A key's newest answer replaces its old one, whichever room either is in.
  await cache.get('user-x', async () => 'deny');
  cache.delete('user-x');
  t.is(cache.peek('user-x'), undefined);
  const moving = createTtlCache<string>({
    maxEntries: 4,
    ttlMs: () => 1,
    kind: (v) => (v === 'deny' ? 1 : 0),
  });
  await moving.get('k', async () => 'deny');
  await new Promise((resolve) => setTimeout(resolve, 5));
  await moving.get('k', async () => 'allow');
  t.is(moving.peek('k'), 'allow');
  t.is(moving.size, 1);
});

test('without kinds, one room holds everything: the oldest entry goes first whatever it is', async (t) => {
  const cache = createTtlCache<string>({ maxEntries: 16, ttlMs: () => 60_000 });
  await cache.get('user', async () => 'allow');
  for (let i = 0; i < 16; i++) await cache.get(`forged-${i}`, async () => 'deny');
  t.is(cache.peek('user'), undefined);
});
