import test from 'ava';
import { createRedirectCheck } from '../../src/server/safe-redirect.ts';

const check = createRedirectCheck(['app.example.com', '*.corp.example']);
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
