import test from 'ava';
import fc from 'fast-check';
import { bearerToken, MAX_BEARER_TOKEN_LENGTH } from '../../src/kube/bearer-token.ts';

test('reads the token of a Bearer header, the scheme in any case', (t) => {
  t.is(bearerToken('Bearer abc.def-ghi_jkl'), 'abc.def-ghi_jkl');
  t.is(bearerToken('bearer abc'), 'abc');
  t.is(bearerToken('BEARER abc'), 'abc');
  t.is(bearerToken('  Bearer   abc  '), 'abc');
  t.is(bearerToken('Bearer eyJ0eXAi.eyJzdWIi.sig=='), 'eyJ0eXAi.eyJzdWIi.sig==');
});

test('anything else is no token', (t) => {
  for (const header of [
    undefined,
    '',
    'Bearer',
    'Bearer ',
    'Basic YWxhZGRpbjpvcGVuc2VzYW1l',
    'Bearerabc',
    'Bearer abc def',
    'Bearer abc\tdef',
    'Bearer\tabc',
    'Bearer abc\u0000',
    'Bearer abc\u00e9',
    'Token abc',
  ]) {
    t.is(bearerToken(header), null, JSON.stringify(header));
  }
});

test('a token longer than the bound is refused, one at the bound is read', (t) => {
  t.is(bearerToken(`Bearer ${'a'.repeat(MAX_BEARER_TOKEN_LENGTH)}`)?.length, MAX_BEARER_TOKEN_LENGTH);
  t.is(bearerToken(`Bearer ${'a'.repeat(MAX_BEARER_TOKEN_LENGTH + 1)}`), null);
  t.is(bearerToken(`Bearer ${'a'.repeat(1_000_000)}`), null);
});

test('any visible-ASCII token round-trips; whitespace inside never does', (t) => {
  const visible = fc.string({
    unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
    minLength: 1,
  });
  t.notThrows(() => fc.assert(fc.property(visible, (token) => bearerToken(`Bearer ${token}`) === token)));
  t.notThrows(() =>
    fc.assert(
      fc.property(visible, visible, fc.constantFrom(' ', '\t', '\n', '\r', '\v'), (a, b, space) => {
        return bearerToken(`Bearer ${a}${space}${b}`) === null;
      }),
    ),
  );
});
