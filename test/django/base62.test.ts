import test from 'ava';
import fc from 'fast-check';
import { base62Decode, base62Encode } from '../../src/django/base62.ts';

test('decodes the alphabet 0-9, A-Z, a-z big-endian', (t) => {
  t.is(base62Decode('0'), 0n);
  t.is(base62Decode('A'), 10n);
  t.is(base62Decode('a'), 36n);
  t.is(base62Decode('10'), 62n);
  t.is(base62Decode('-z'), -61n);
});

test('rejects what Django rejects: empty, bad digits, a bare minus', (t) => {
  for (const bad of ['', '-', '+1', '1.0', ' 1', 'é']) t.is(base62Decode(bad), null, bad);
});

test('bounds absurd timestamps instead of computing them', (t) => {
  t.is(base62Decode('z'.repeat(10_000)), null);
});

test('encode and decode are inverse for timestamps', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
        (n) => base62Decode(base62Encode(n)) === BigInt(n),
      ),
    ),
  );
});
