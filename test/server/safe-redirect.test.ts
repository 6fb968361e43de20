import test from 'ava';
import { createHostCheck } from '../../src/policy/allowed-hosts.ts';
import { createRedirectCheck } from '../../src/server/safe-redirect.ts';

const check = createRedirectCheck(['app.example.com', '*.corp.example'], createHostCheck(['.example.com']));
const host = 'flower.example.com';

const allowed: [string, string][] = [
  ['/dashboard?x=1', '/dashboard?x=1'],
  ['https://flower.example.com/tasks', 'https://flower.example.com/tasks'],
  ['http://flower.example.com:8080/', 'http://flower.example.com:8080/'],
  ['https://app.example.com/next', 'https://app.example.com/next'],
  ['https://ops.corp.example/x', 'https://ops.corp.example/x'],
];
for (const [target, expected] of allowed) {
  test(`allows ${target}`, (t) => t.is(check(target, host), expected));
}

const refused = [
  '//evil.example/',
  '///evil.example/',
  '/\\evil.example',
  '\\\\evil.example',
  'https://evil.example/',
  'https://flower.example.com.evil.example/',
  'https://flower.example.com@evil.example/',
  'https://user:pw@flower.example.com/',
  'javascript:alert(1)',
  'JaVaScRiPt:alert(1)',
  'data:text/html,<script>',
  '%2F%2Fevil.example',
  '/%2F/evil.example',
  '/%5Cevil.example',
  '/x\r\nLocation: https://evil.example',
  ' https://flower.example.com/',
  'https:evil.example',
  'corp.example',
  `https://a.com/${'x'.repeat(5000)}`,
];
for (const target of refused) {
  test(`refuses ${JSON.stringify(target)}`, (t) => t.is(check(target, host), null));
}

test('the own host is no target when FLOWERGATE_ALLOWED_HOSTS is unset, whatever Host the client sent', (t) => {
  const unset = createRedirectCheck(['app.example.com'], null);
  t.is(unset('https://flower.example.com/tasks', host), null);
  t.is(unset('https://evil.example/tasks', 'evil.example'), null);
  // The listed hosts still are; and a plain path stays on the login host.
  t.is(unset('https://app.example.com/next', host), 'https://app.example.com/next');
  t.is(unset('/tasks', host), '/tasks');
});

test('the own host is a target only when it passes the allowed hosts', (t) => {
  const strict = createRedirectCheck([], createHostCheck(['flower.example.com']));
  t.is(strict('https://flower.example.com/tasks', 'flower.example.com'), 'https://flower.example.com/tasks');
  t.is(strict('https://FLOWER.example.com/x', 'flower.example.com:443'), 'https://flower.example.com/x');
  // A forged X-Forwarded-Host: evil.example is not in the list, so it cannot make itself a target.
  t.is(strict('https://evil.example/tasks', 'evil.example'), null);
  // The own host names another host: still refused.
  t.is(strict('https://evil.example/tasks', 'flower.example.com'), null);
});
