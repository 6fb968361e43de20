import test from 'ava';
import { pythonInt } from '../../src/django/python-int.ts';

const show = (value: unknown) => (typeof value === 'number' ? String(value) : JSON.stringify(value));

const accepted: [unknown, bigint][] = [
  ['1', 1n],
  [' 1\n', 1n],
  ['+1', 1n],
  ['-7', -7n],
  ['1_0', 10n],
  ['\u0661\u0662', 12n], // Arabic-Indic digits, as int('١٢') accepts
  [1.9, 1n],
  [-1.9, -1n],
  [true, 1n],
  [false, 0n],
  ['123456789012345678901234567890', 123456789012345678901234567890n],
];
const invalid: unknown[] = [
  '1.0',
  'abc',
  '',
  ' ',
  '1__0',
  '_1',
  '1_',
  '0x10',
  [],
  {},
  Number.NaN,
  Number.POSITIVE_INFINITY,
  '1 2',
];

for (const [value, expected] of accepted) {
  test(`int(${show(value)}) is ${expected}`, (t) => {
    t.is(pythonInt(value), expected);
  });
}
for (const value of invalid) {
  test(`int(${show(value)}) raises, so Django crashes and we deny`, (t) => {
    t.is(pythonInt(value), 'invalid');
  });
}
test('JSON null becomes None, which finds no user', (t) => {
  t.is(pythonInt(null), null);
});
