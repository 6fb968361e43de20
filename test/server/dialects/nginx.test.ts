import test from 'ava';
import type { OriginalRequest } from '../../../src/decision/request.ts';
import { isMalformed } from '../../../src/server/dialects/dialect.ts';
import { extractNginx } from '../../../src/server/dialects/nginx.ts';

const extract = (originalUrl: string) =>
  extractNginx(
    {
      method: 'GET',
      url: '/_flowergate/auth/nginx',
      headers: { 'x-original-url': originalUrl, 'x-original-method': 'POST' },
      peer: '127.0.0.1',
      encrypted: false,
    },
    null,
  );

// The fast path must read scheme and host exactly as WHATWG URL() would, or a host rule could be
// matched differently depending on how the client spelled its Host header.
const URLS = [
  'https://flower.example.com/dashboard?json=1',
  'http://flower.example.com',
  'https://flower.example.com:443/x',
  'http://flower.example.com:80/x',
  'https://flower.example.com:8443/x',
  'https://flower.example.com:08443/x',
  'https://flower.example.com:00443/x',
  'https://Flower.Example.COM/x',
  'https://localhost:4180/?a=b',
  'http://127.0.0.1/x',
  'http://0x7f.1/x',
  'http://2130706433/x',
  'http://[::1]:8080/x',
  'https://xn--bcher-kva.example/x',
  'https://a..b/x',
  'https://-a-.example/x',
  'https://user@flower.example.com/x',
];

for (const url of URLS) {
  test(`X-Original-URL ${url}: scheme and host are what URL() reads`, (t) => {
    const parsed = new URL(url);
    const got = extract(url) as OriginalRequest;
    t.false(isMalformed(got));
    t.is(got.scheme, parsed.protocol === 'https:' ? 'https' : 'http');
    t.is(got.host, parsed.host);
    t.is(got.method, 'POST');
  });
}

test('the original path is kept raw, dot segments and all, for the path check to judge', (t) => {
  const got = extract('https://flower.example.com/flower/../admin/%2e%2e/x?y=1') as OriginalRequest;
  t.is(got.uri, '/flower/../admin/%2e%2e/x?y=1');
  t.is((extract('https://flower.example.com') as OriginalRequest).uri, '/');
});

test('what URL() refuses is refused: a port out of range, a space in the host, no scheme, not http(s)', (t) => {
  for (const url of [
    'https://flower.example.com:99999/x',
    'https://flo wer.example.com/x',
    'flower.example.com/x',
    '/x',
    'ftp://flower.example.com/x',
    'https://flower.example.com?x=/y',
  ]) {
    const got = extract(url);
    t.true(isMalformed(got), url);
  }
});
