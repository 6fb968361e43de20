import test from 'ava';
import { formatDjangoDatetime } from '../../src/django/instant.ts';

const micros = (iso: string, extra = 0) => Date.parse(iso) * 1000 + extra;

test('formats UTC as Django binds it: the fraction only when non-zero', (t) => {
  t.is(formatDjangoDatetime(micros('2026-12-06T13:40:05Z'), null), '2026-12-06 13:40:05');
  t.is(formatDjangoDatetime(micros('2026-12-06T13:40:05Z', 42), null), '2026-12-06 13:40:05.000042');
  t.is(formatDjangoDatetime(micros('2026-12-06T13:40:05.5Z'), 'UTC'), '2026-12-06 13:40:05.500000');
});

test('wall time in TIME_ZONE, across a DST change, interleaved with other zones and seconds', (t) => {
  // Interleaving zones and instants checks that the kept last second never answers for another one.
  const cases: [string, string | null, string][] = [
    ['2026-03-29T00:59:59Z', 'Europe/Paris', '2026-03-29 01:59:59'],
    ['2026-03-29T00:59:59Z', null, '2026-03-29 00:59:59'],
    ['2026-03-29T01:00:00Z', 'Europe/Paris', '2026-03-29 03:00:00'],
    ['2026-03-29T01:00:00Z', 'America/New_York', '2026-03-28 21:00:00'],
    ['2026-03-29T01:00:00Z', 'Europe/Paris', '2026-03-29 03:00:00'],
    ['2026-03-29T00:59:59Z', 'Europe/Paris', '2026-03-29 01:59:59'],
    ['1969-12-31T23:59:59Z', null, '1969-12-31 23:59:59'],
    ['2026-12-06T00:00:00Z', 'Asia/Kolkata', '2026-12-06 05:30:00'],
  ];
  for (const [iso, zone, expected] of cases) {
    t.is(formatDjangoDatetime(micros(iso, 7), zone), `${expected}.000007`, `${iso} in ${zone ?? 'UTC'}`);
  }
});
