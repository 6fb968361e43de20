import test from 'ava';
import fc from 'fast-check';
import type { OriginalRequest } from '../../../src/decision/request.ts';
import { type Extract, isMalformed, type Malformed } from '../../../src/server/dialects/dialect.ts';
import { extractForward } from '../../../src/server/dialects/forward.ts';
import { extractNginx } from '../../../src/server/dialects/nginx.ts';

const sub = (headers: Record<string, string>) => ({
  method: 'GET',
  url: '/_flowergate/auth/x',
  headers,
  peer: '127.0.0.1',
  encrypted: false,
});
const run = (extract: Extract, headers: Record<string, string>): OriginalRequest | Malformed =>
  extract(sub(headers), null);

const NGINX = {
  'x-original-url': 'https://flower.example.com/flower/api/task/revoke/1?terminate=1',
  'x-original-method': 'POST',
};
const FORWARD = {
  'x-forwarded-method': 'POST',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'flower.example.com',
  'x-forwarded-uri': '/flower/api/task/revoke/1?terminate=1',
};

test('each endpoint reads its own complete family', (t) => {
  for (const [extract, headers] of [
    [extractNginx, NGINX],
    [extractForward, FORWARD],
  ] as const) {
    t.like(run(extract, headers), {
      method: 'POST',
      scheme: 'https',
      host: 'flower.example.com',
      uri: '/flower/api/task/revoke/1?terminate=1',
    });
  }
});

test('no default method and no fall-back family: an incomplete family is a bad request', (t) => {
  const { 'x-original-method': _m, ...nginxNoMethod } = NGINX;
  const { 'x-forwarded-method': _f, ...forwardNoMethod } = FORWARD;
  const { 'x-forwarded-uri': _u, ...forwardNoUri } = FORWARD;
  const { 'x-forwarded-host': _h, ...forwardNoHost } = FORWARD;
  const cases: Array<[Extract, Record<string, string>, RegExp]> = [
    [extractNginx, nginxNoMethod, /X-Original-Method/],
    [extractNginx, { 'x-original-method': 'GET' }, /X-Original-URL/],
    // The nginx endpoint never believes the forward family in place of its own...
    [extractNginx, FORWARD, /X-Original-URL/],
    [extractNginx, { 'x-original-uri': '/flower/', 'x-original-method': 'GET' }, /X-Original-URL/],
    // ...nor the forward endpoint the nginx one.
    [extractForward, NGINX, /X-Forwarded-Method/],
    [extractForward, forwardNoMethod, /X-Forwarded-Method/],
    [extractForward, forwardNoUri, /X-Forwarded-Uri/],
    [extractForward, forwardNoHost, /X-Forwarded-Host/],
    [extractForward, { ...FORWARD, 'x-forwarded-method': 'GET POST' }, /X-Forwarded-Method/],
  ];
  for (const [extract, headers, detail] of cases) {
    const got = run(extract, headers);
    t.true(isMalformed(got), JSON.stringify(headers));
    if (isMalformed(got)) t.regex(got.malformed, detail);
  }
});

test('a contradicting copy of the other family is refused on either endpoint; an agreeing one is not', (t) => {
  const cases: Array<[Extract, Record<string, string>, Record<string, string>]> = [
    [extractNginx, NGINX, { 'x-original-uri': '/flower/' }],
    [extractNginx, NGINX, { 'x-forwarded-uri': '/flower/' }],
    [extractNginx, NGINX, { 'x-forwarded-method': 'GET' }],
    [extractForward, FORWARD, { 'x-original-url': 'https://flower.example.com/flower/' }],
    [extractForward, FORWARD, { 'x-original-method': 'GET' }],
    [extractForward, FORWARD, { 'x-original-url': 'not a url' }],
  ];
  for (const [extract, own, forged] of cases) {
    t.true(isMalformed(run(extract, { ...own, ...forged })), JSON.stringify(forged));
  }
  // The honest twins: a proxy that sets both families with the same values (nginx with X-Original-URI
  // too; Caddy copying an honest client's headers) is answered.
  t.false(isMalformed(run(extractNginx, { ...NGINX, 'x-original-uri': NGINX['x-original-url'].slice(26) })));
  t.false(isMalformed(run(extractNginx, { ...NGINX, ...FORWARD })));
  t.false(isMalformed(run(extractForward, { ...FORWARD, ...NGINX })));
  t.false(isMalformed(run(extractForward, { ...FORWARD, 'x-original-method': 'post' })));
});

test('a copy of the other family naming another host is refused on either endpoint (host rules and ALLOWED_HOSTS judge the host); the same host spelt otherwise is not', (t) => {
  // Caddy or Traefik pointed at the nginx endpoint set X-Forwarded-Method/-Uri/-Host themselves and copy the
  // client's X-Original-URL: its path and method are checked against theirs, and so must its host be.
  const proxySet = {
    'x-forwarded-method': 'POST',
    'x-forwarded-uri': '/flower/api/task/revoke/1?terminate=1',
  };
  const hostile: Array<[Extract, Record<string, string>]> = [
    [
      extractNginx,
      {
        ...NGINX,
        'x-original-url': 'https://internal.example.com/flower/api/task/revoke/1?terminate=1',
        ...proxySet,
        'x-forwarded-host': 'flower.example.com',
      },
    ],
    [
      extractForward,
      { ...FORWARD, 'x-original-url': 'https://internal.example.com/flower/api/task/revoke/1?terminate=1' },
    ],
  ];
  for (const [extract, headers] of hostile) {
    const got = run(extract, headers);
    t.true(isMalformed(got), JSON.stringify(headers));
    if (isMalformed(got)) t.regex(got.malformed, /another host/);
  }
  // Honest twins: the same host with a port, in capitals or with a trailing dot; and an X-Forwarded-Host
  // alone (a CDN in front of ingress-nginx, which passes the client's headers and sets no X-Forwarded-*):
  // without X-Forwarded-Method or -Uri nothing says a forward-family proxy set it.
  const honest: Array<[Extract, Record<string, string>]> = [
    [extractNginx, { ...NGINX, ...proxySet, 'x-forwarded-host': 'Flower.Example.com.:443' }],
    [extractNginx, { ...NGINX, 'x-forwarded-host': 'origin.cdn.example' }],
    [
      extractForward,
      { ...FORWARD, 'x-original-url': 'https://flower.example.com:443/flower/api/task/revoke/1?terminate=1' },
    ],
  ];
  for (const [extract, headers] of honest)
    t.like(
      run(extract, headers),
      { method: 'POST', uri: '/flower/api/task/revoke/1?terminate=1' },
      JSON.stringify(headers),
    );
});

// Whatever a client adds of either family, the decision's method and path are the endpoint's own
// family's, or the request is refused: a forged copy can never change what is judged.
const METHODS = ['GET', 'POST', 'DELETE', 'get', 'HEAD'];
const PATHS = ['/flower/', '/flower/api/task/revoke/1', '/flower/tasks', '/healthcheck?x=1'];
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const family = fc.record({
  originalUrl: maybe(fc.constantFrom(...PATHS).map((p) => `https://flower.example.com${p}`)),
  originalMethod: maybe(fc.constantFrom(...METHODS)),
  originalUri: maybe(fc.constantFrom(...PATHS)),
  forwardedUri: maybe(fc.constantFrom(...PATHS)),
  forwardedMethod: maybe(fc.constantFrom(...METHODS)),
});
type Family = typeof family extends fc.Arbitrary<infer T> ? T : never;

function headersOf(f: Family): Record<string, string> {
  const h: Record<string, string> = {
    'x-forwarded-host': 'flower.example.com',
    'x-forwarded-proto': 'https',
  };
  if (f.originalUrl !== undefined) h['x-original-url'] = f.originalUrl;
  if (f.originalMethod !== undefined) h['x-original-method'] = f.originalMethod;
  if (f.originalUri !== undefined) h['x-original-uri'] = f.originalUri;
  if (f.forwardedUri !== undefined) h['x-forwarded-uri'] = f.forwardedUri;
  if (f.forwardedMethod !== undefined) h['x-forwarded-method'] = f.forwardedMethod;
  return h;
}

test('nginx endpoint: a decision is only ever on X-Original-URL and X-Original-Method, and every other copy agrees', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(family, (f) => {
        const got = run(extractNginx, headersOf(f));
        if (isMalformed(got)) return;
        const uri = f.originalUrl!.slice('https://flower.example.com'.length);
        const method = f.originalMethod!.toUpperCase();
        if (got.uri !== uri || got.method !== method) throw new Error('judged something else');
        for (const copy of [f.originalUri, f.forwardedUri])
          if (copy !== undefined && copy !== uri) throw new Error('a contradicting path passed');
        if (f.forwardedMethod !== undefined && f.forwardedMethod.toUpperCase() !== method)
          throw new Error('a contradicting method passed');
      }),
      { numRuns: 3000 },
    ),
  );
});

test('forward endpoint: a decision is only ever on X-Forwarded-*, and every other copy agrees', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(family, (f) => {
        const got = run(extractForward, headersOf(f));
        if (isMalformed(got)) return;
        const method = f.forwardedMethod!.toUpperCase();
        if (got.uri !== f.forwardedUri || got.method !== method) throw new Error('judged something else');
        if (f.originalUrl !== undefined && f.originalUrl !== `https://flower.example.com${got.uri}`)
          throw new Error('a contradicting URL passed');
        if (f.originalMethod !== undefined && f.originalMethod.toUpperCase() !== method)
          throw new Error('a contradicting method passed');
      }),
      { numRuns: 3000 },
    ),
  );
});

test('an Upgrade: websocket or a Sec-WebSocket-Key the proxy passes marks the request as a handshake', (t) => {
  for (const [extract, headers] of [
    [extractNginx, NGINX],
    [extractForward, FORWARD],
  ] as const) {
    t.true((run(extract, { ...headers, upgrade: 'WebSocket' }) as OriginalRequest).websocket);
    // nginx's auth_request drops the hop-by-hop Upgrade, but the handshake's key still arrives.
    t.true(
      (run(extract, { ...headers, 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' }) as OriginalRequest)
        .websocket,
    );
    t.false((run(extract, headers) as OriginalRequest).websocket);
    t.false((run(extract, { ...headers, upgrade: 'h2c' }) as OriginalRequest).websocket);
  }
});
