// The pure parts of the sidecar's header hygiene, table by table.
import test from 'ava';
import type { NetworkSet } from '../../src/policy/networks.ts';
import { parseNetworks } from '../../src/policy/networks.ts';
import { withoutCookies } from '../../src/proxy/cookies.ts';
import { connectionListed } from '../../src/proxy/hop-by-hop.ts';
import type { Forwarded } from '../../src/proxy/original-request.ts';
import { COMMON_IDENTITY_HEADERS, createRequestHygiene } from '../../src/proxy/request-headers.ts';
import { createResponseHygiene, rewriteLocation } from '../../src/proxy/response-headers.ts';
import { prefixRedirect } from '../../src/proxy/url-prefix.ts';
import { encodeHeaderValue } from '../../src/server/header-value.ts';

const DROP = new Set(['sessionid', 'csrftoken']);

for (const [header, expected] of [
  ['sessionid=abc', undefined],
  ['a=1; sessionid=abc; b=2', 'a=1; b=2'],
  [' sessionid =abc;a=1', 'a=1'],
  ['sessionid=1; sessionid=2', undefined],
  ['csrftoken=x; theme=dark', 'theme=dark'],
  ['SESSIONID=abc', 'SESSIONID=abc'],
  ['sessionidx=1; xsessionid=2', 'sessionidx=1; xsessionid=2'],
  ['novalue; sessionid=1', 'novalue'],
  ['', undefined],
  [';;', undefined],
] as const) {
  test(`withoutCookies(${JSON.stringify(header)})`, (t) => {
    t.is(withoutCookies(header, DROP), expected);
  });
}

test('Connection tokens name hop-by-hop fields, but never Host or the body framing', (t) => {
  t.deepEqual(
    [...connectionListed('keep-alive, X-Foo ,Host, content-length,,upgrade')],
    ['keep-alive', 'x-foo', 'upgrade'],
  );
  t.deepEqual([...connectionListed(undefined)], []);
});

const site = { scheme: 'https', host: 'ops.example.com' } as const;
const hosts = ['127.0.0.1:5555', 'ops.example.com'];
for (const [location, expected] of [
  ['http://127.0.0.1:5555/flower/tasks?a=%2F#x', 'https://ops.example.com/flower/tasks?a=%2F#x'],
  ['http://127.0.0.1:5555', 'https://ops.example.com/'],
  ['http://127.0.0.1:5555?x=1', 'https://ops.example.com/?x=1'],
  ['//127.0.0.1:5555/flower/', 'https://ops.example.com/flower/'],
  ['http://OPS.example.com:80/flower/', 'https://ops.example.com/flower/'],
  ['/flower/login?next=%2Fflower%2F', '/flower/login?next=%2Fflower%2F'],
  ['login', 'login'],
  ['https://docs.celeryq.dev/', 'https://docs.celeryq.dev/'],
  ['http://127.0.0.1:5556/x', 'http://127.0.0.1:5556/x'],
  ['http://user@127.0.0.1:5555/x', 'http://user@127.0.0.1:5555/x'],
  ['javascript://127.0.0.1:5555/%0aalert(1)', 'javascript://127.0.0.1:5555/%0aalert(1)'],
] as const) {
  test(`rewriteLocation(${location})`, (t) => {
    t.is(rewriteLocation(location, hosts, site), expected);
  });
}

test('response headers: hop-by-hop, Access-Control-* and the session Set-Cookie go; the rest keeps order and case', (t) => {
  const clean = createResponseHygiene({
    upstream: new URL('http://127.0.0.1:5555'),
    sessionCookieName: 'sessionid',
  });
  const raw = [
    'Content-Type',
    'text/html',
    'Connection',
    'keep-alive, X-Hop',
    'X-Hop',
    '1',
    'Keep-Alive',
    'timeout=5',
    'Transfer-Encoding',
    'chunked',
    'Access-Control-Allow-Origin',
    '*',
    'access-control-allow-credentials',
    'true',
    'Set-Cookie',
    'user=1; Path=/',
    'Set-Cookie',
    'sessionid =evil; Path=/',
    'Set-Cookie',
    'theme=dark',
    'Location',
    'http://127.0.0.1:5555/flower/',
    'Proxy-Authenticate',
    'Basic',
  ];
  t.deepEqual(clean(raw, site, 'keep-alive, X-Hop'), [
    'Content-Type',
    'text/html',
    'Set-Cookie',
    'user=1; Path=/',
    'Set-Cookie',
    'theme=dark',
    'Location',
    'https://ops.example.com/flower/',
  ]);
});

for (const [prefix, method, url, expected] of [
  ['/flower', 'GET', '/flower', { status: 301, location: '/flower/' }],
  ['/flower', 'HEAD', '/flower?autorefresh=1', { status: 301, location: '/flower/?autorefresh=1' }],
  ['/flower', 'POST', '/flower', { status: 308, location: '/flower/' }],
  ['/flower', 'GET', '/', { status: 302, location: '/flower/' }],
  ['/flower', 'GET', '/flower/', null],
  ['/flower', 'GET', '/flowers', null],
  ['/flower', 'GET', '/flower/api', null],
  ['', 'GET', '/', null],
] as const) {
  test(`prefixRedirect(${JSON.stringify(prefix)}, ${method} ${url})`, (t) => {
    t.deepEqual(prefixRedirect(prefix, method, url), expected);
  });
}

const trusted = parseNetworks(['10.0.0.0/8']) as NetworkSet;
const hygiene = createRequestHygiene({
  dropCookies: DROP,
  identityNames: ['X-Auth-Request-User', 'X-Auth-Request-Email', 'X-Auth-Request-Groups'],
  dropBearer: false,
});
const forwarded = (peer: string, over: Partial<Forwarded> = {}): Forwarded => ({
  peer,
  trustedPeer: trusted.has(peer),
  scheme: 'http',
  host: 'flower.example',
  ...over,
});
const facts = {
  method: 'GET',
  client: '192.0.2.1',
  // identityHeaders() hands over encoded values; anything else (here a raw CR LF) is never set
  identity: {
    'X-Auth-Request-User': encodeHeaderValue('josé') as string,
    'X-Auth-Request-Groups': 'ops\r\nX-Evil: 1',
  },
  dropAuthorization: false,
  websocket: false,
};

test('request headers from an untrusted peer: forwarding headers replaced, identity ours (an unencoded value left out), hop-by-hop gone', (t) => {
  const out = hygiene(
    {
      host: 'flower.example',
      cookie: 'sessionid=abc; a=1',
      'x-auth-request-user': 'mallory',
      'x-auth-request_email': 'm@evil',
      'x-forwarded-for': '6.6.6.6',
      'x-forwarded-port': '443',
      forwarded: 'for=6.6.6.6',
      'x-real-ip': '6.6.6.6',
      'x-scheme': 'https',
      connection: 'keep-alive, x-drop, host',
      'x-drop': '1',
      te: 'trailers',
      expect: '100-continue',
      authorization: 'Bearer abc',
      'content-length': '3',
    },
    { ...facts, forwarded: forwarded('192.0.2.1') },
  );
  t.deepEqual(out, {
    host: 'flower.example',
    cookie: 'a=1',
    authorization: 'Bearer abc',
    'content-length': '3',
    'x-forwarded-for': '192.0.2.1',
    'x-forwarded-proto': 'http',
    'x-forwarded-host': 'flower.example',
    'x-real-ip': '192.0.2.1',
    // UTF-8 bytes as latin-1 (what a WSGI server decodes back); the value with CR LF is not sent at all
    'x-auth-request-user': Buffer.from('josé', 'utf8').toString('latin1'),
  });
});

test('request headers from a trusted proxy: X-Forwarded-For is extended, its other forwarding headers kept', (t) => {
  const out = hygiene(
    {
      host: 'internal:4180',
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-port': '443',
      forwarded: 'for=203.0.113.9',
    },
    {
      ...facts,
      identity: {},
      client: '203.0.113.9',
      forwarded: forwarded('10.1.2.3', { scheme: 'https', host: 'ops.example.com' }),
    },
  );
  t.like(out, {
    'x-forwarded-for': '203.0.113.9, 10.1.2.3',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'ops.example.com',
    'x-forwarded-port': '443',
    forwarded: 'for=203.0.113.9',
    'x-real-ip': '203.0.113.9',
  });
});

test('request framing: chunked stays chunked, a body-less DELETE gets Content-Length: 0, WebSockets keep Upgrade', (t) => {
  const chunked = hygiene(
    { host: 'h', 'transfer-encoding': 'chunked' },
    { ...facts, method: 'DELETE', forwarded: forwarded('192.0.2.1') },
  );
  t.is(chunked['transfer-encoding'], 'chunked');
  t.false('content-length' in chunked, 'never a second framing next to chunked');
  const empty = hygiene({ host: 'h' }, { ...facts, method: 'DELETE', forwarded: forwarded('192.0.2.1') });
  t.is(empty['content-length'], '0');
  const ws = hygiene(
    { host: 'h', connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'k' },
    { ...facts, websocket: true, forwarded: forwarded('192.0.2.1') },
  );
  t.like(ws, { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'k' });
  const kube = hygiene(
    { host: 'h', authorization: 'Bearer token' },
    { ...facts, dropAuthorization: true, forwarded: forwarded('192.0.2.1') },
  );
  t.false('authorization' in kube, 'a service-account token flowergate consumed is not passed on');
});

test('client-sent identity headers never pass, configured or common, in either spelling; other headers do', (t) => {
  const own = createRequestHygiene({
    dropCookies: DROP,
    identityNames: ['X-Flower-User'],
    dropBearer: false,
  });
  const sent: Record<string, string> = { host: 'h', 'x-custom': 'kept' };
  const names = [
    'x-flower-user',
    ...COMMON_IDENTITY_HEADERS,
    ...COMMON_IDENTITY_HEADERS.map((name) => name.replaceAll('-', '_')),
    'X_Forwarded_User',
  ];
  for (const name of names) sent[name] = 'mallory';
  const out = own(sent, {
    ...facts,
    identity: { 'X-Flower-User': 'root' },
    forwarded: forwarded('10.1.2.3'), // even from a trusted proxy
  });
  t.is(out['x-flower-user'], 'root', 'ours is set');
  t.is(out['x-custom'], 'kept');
  for (const name of names) if (name !== 'x-flower-user') t.false(name.toLowerCase() in out, name);
  // The ones issue 14 found reaching Flower, spelled as the issue did.
  const found = 'Remote-User X-Remote-User X-Forwarded-User X-Forwarded-Email X-Forwarded-Preferred-Username';
  for (const name of `${found} X-Forwarded-Groups`.split(' '))
    t.true(COMMON_IDENTITY_HEADERS.includes(name.toLowerCase()), `${name} is on the list`);
});

test('with token auth on, a bearer token never reaches the upstream, used or not; other schemes do', (t) => {
  const kube = createRequestHygiene({ dropCookies: DROP, identityNames: [], dropBearer: true });
  const base = { ...facts, identity: {}, forwarded: forwarded('192.0.2.1') };
  t.false('authorization' in kube({ host: 'h', authorization: 'Bearer eyJ.a.b' }, base), 'a public path');
  t.false('authorization' in kube({ host: 'h', authorization: '  bearer x' }, base));
  t.is(kube({ host: 'h', authorization: 'Basic dTpw' }, base).authorization, 'Basic dTpw');
  t.is(
    hygiene({ host: 'h', authorization: 'Bearer x' }, base).authorization,
    'Bearer x',
    'without token auth the header is not ours to take',
  );
});

test("request framing: the Transfer-Encoding sent upstream is written by us, never the client's text", (t) => {
  const out = hygiene(
    { host: 'h', 'transfer-encoding': ' Chunked' },
    { ...facts, method: 'POST', forwarded: forwarded('192.0.2.1') },
  );
  t.is(out['transfer-encoding'], 'chunked');
});
