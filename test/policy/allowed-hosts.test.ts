import test from 'ava';
import fc from 'fast-check';
import { createHostCheck, djangoDomain } from '../../src/policy/allowed-hosts.ts';

test('exact names, .domain and * follow Django: port ignored, case-insensitive, trailing dot dropped', (t) => {
  const check = createHostCheck(['flower.example.com', '.corp.example', '[::1]'])!;
  for (const host of [
    'flower.example.com',
    'FLOWER.Example.COM',
    'flower.example.com:8443',
    'flower.example.com.',
    'corp.example',
    'a.b.corp.example:80',
    '[::1]:4180',
  ])
    t.true(check(host), host);
  for (const host of [
    'evil.example',
    'flower.example.com.evil.example',
    'xcorp.example',
    'example.com',
    'flower.example.com@evil.example',
    'flower.example.com:x',
    '',
    'flower example.com',
    '[::2]',
  ])
    t.false(check(host), host);
});

test('* lets any valid host through but never an invalid one, as Django does', (t) => {
  const any = createHostCheck(['*'])!;
  t.true(any('anything.example:81'));
  t.false(any('bad host'));
  t.false(any('evil.example/x'));
  t.false(any(''));
});

test('no patterns means no check (null)', (t) => {
  t.is(createHostCheck([]), null);
});

test('the remembered last answer never leaks between hosts', (t) => {
  const check = createHostCheck(['a.example'])!;
  t.true(check('a.example'));
  t.false(check('b.example'));
  t.true(check('a.example'));
  t.false(check('b.example'));
});

// Django's validate_host, transcribed from django/http/request.py and django/utils/http.py.
function djangoValidate(host: string, patterns: readonly string[]): boolean {
  const m = /^([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(?::([0-9]+))?$/.exec(host.toLowerCase());
  if (!m) return false;
  const domain = m[1]!.replace(/\.$/, '');
  if (!domain) return false;
  return patterns.some((pattern) => {
    if (pattern === '*') return true;
    const p = pattern.toLowerCase();
    return (p.startsWith('.') && (domain.endsWith(p) || domain === p.slice(1))) || p === domain;
  });
}

test('agrees with Django on random hosts and allow-lists', (t) => {
  const label = fc.constantFrom('a', 'b', 'example', 'com', 'EVIL', 'x-y', '', '0');
  const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('.'));
  const host = fc
    .tuple(name, fc.constantFrom('', ':80', ':4180', ':', ':x', '.', '@a', ' '))
    .map(([n, tail]) => n + tail);
  const pattern = fc.oneof(
    name,
    name.map((n) => `.${n}`),
    fc.constant('*'),
  );
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.array(pattern, { minLength: 1, maxLength: 4 }),
        fc.array(host, { maxLength: 6 }),
        (patterns, hosts) => {
          const check = createHostCheck(patterns)!;
          for (const h of hosts) {
            if (check(h) !== djangoValidate(h, patterns))
              throw new Error(`${JSON.stringify(h)} against ${JSON.stringify(patterns)}`);
          }
        },
      ),
      { numRuns: 2000 },
    ),
  );
});

test('djangoDomain is the host Django validates', (t) => {
  t.is(djangoDomain('Flower.Example.com:8080'), 'flower.example.com');
  t.is(djangoDomain('example.com.'), 'example.com');
  t.is(djangoDomain('[::1]:80'), '[::1]');
  t.is(djangoDomain('evil.example/x'), '');
});
