// The sidecar proxy end to end: real Django sessions, the real Tornado upstream under --url_prefix=flower,
// flowergate in front with examples/flower-policy.yaml (paths under /flower).
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import test from 'ava';
import { djangoTool, request, startDjangoSite, USERS } from '../support/e2e.ts';
import { FAKE_WORKER, startFlowerUpstream } from '../support/flower-upstream.ts';
import type { Teardown } from '../support/processes.ts';
import { toolTest } from '../support/require-tool.ts';
import { PREFIX, sample, startGate } from './harness.ts';

const maybe = await toolTest('tornado', djangoTool());

const cleanup: Array<() => Promise<void>> = [];
const shared: Teardown = { teardown: (fn) => void cleanup.push(fn) };
test.after.always(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

let world: ReturnType<typeof setUp> | undefined;
function setUp() {
  return (async () => {
    const [site, flower] = await Promise.all([
      startDjangoSite({ t: shared }),
      startFlowerUpstream({ prefix: 'flower', t: shared }),
    ]);
    const gate = await startGate({
      site,
      upstream: flower,
      env: { FLOWERGATE_PROXY_STRIP_COOKIES: 'csrftoken' },
      t: shared,
    });
    const [root, staff] = await Promise.all([site.cookie('root'), site.cookie('staff')]);
    return { site, flower, gate, root, staff };
  })();
}
const env = () => {
  world ??= setUp();
  return world;
};

const HTML = { accept: 'text/html,application/xhtml+xml' };

maybe('staff may GET the dashboard, but only a superuser may POST to the API', async (t) => {
  const { gate, flower, root, staff } = await env();
  const dashboard = await request(`${gate.url}${PREFIX}/`, { headers: { cookie: staff, ...HTML } });
  t.is(dashboard.status, 200);
  t.regex(dashboard.body, /<h1>Workers<\/h1>/);

  const tag = randomUUID();
  const shutdown = `${gate.url}${PREFIX}/api/worker/shutdown/${FAKE_WORKER}?tag=${tag}`;
  const headers = { origin: gate.url, 'content-length': '0' };
  const refused = await request(shutdown, { method: 'POST', headers: { ...headers, cookie: staff } });
  t.is(refused.status, 403);
  t.like(JSON.parse(refused.body), { decision: 'forbidden', reason: 'not_superuser', rule: 'default' });
  t.false(
    (await flower.requests()).some((r) => r.query.includes(tag)),
    'a refused request never reaches Flower',
  );

  const done = await request(shutdown, { method: 'POST', headers: { ...headers, cookie: root } });
  t.is(done.status, 200);
  t.deepEqual(JSON.parse(done.body), { message: 'Shutting down!' });
});

maybe(
  'anonymous browsers are sent to the Django login, API clients get 401, the health check is public',
  async (t) => {
    const { gate, site } = await env();
    const page = await request(`${gate.url}${PREFIX}/tasks?x=1`, { headers: HTML });
    t.is(page.status, 302);
    const login = new URL(String(page.headers.location));
    t.is(`${login.origin}${login.pathname}`, site.loginUrl);
    t.is(login.searchParams.get('next'), `${gate.url}${PREFIX}/tasks?x=1`);

    const api = await request(`${gate.url}${PREFIX}/api/workers`, {
      headers: { accept: 'application/json' },
    });
    t.is(api.status, 401);
    t.like(JSON.parse(api.body), { decision: 'unauthenticated', reason: 'no_cookie' });

    const health = await request(`${gate.url}${PREFIX}/healthcheck`);
    t.is(health.status, 200);
    t.is(health.body, 'OK');
  },
);

maybe(
  'the Django session cookie and configured cookies never reach the upstream; other cookies do',
  async (t) => {
    const { gate, flower, root } = await env();
    const tag = randomUUID();
    const res = await request(`${gate.url}${PREFIX}/api/tasks?tag=${tag}`, {
      headers: { cookie: `theme=dark;  sessionid =spoof ; ${root}; csrftoken=abc; lang=fr` },
    });
    t.is(res.status, 200);
    const seen = (await flower.requests()).filter((r) => r.query.includes(tag));
    t.is(seen.length, 1);
    t.is(seen[0]?.headers.cookie, 'theme=dark; lang=fr');
    t.false(JSON.stringify(seen).includes(root.split('=')[1]!), 'the session key appears nowhere upstream');

    const onlySession = await request(`${gate.url}${PREFIX}/__echo?tag=${tag}`, {
      headers: { cookie: root },
    });
    const echoed = JSON.parse(onlySession.body) as { headers: Record<string, string> };
    t.false('cookie' in echoed.headers, 'an emptied Cookie header is dropped, not sent empty');
  },
);

maybe(
  'client-sent identity and forwarding headers are replaced by ours; hop-by-hop headers are not forwarded',
  async (t) => {
    const { gate, root } = await env();
    const res = await request(`${gate.url}${PREFIX}/__echo`, {
      headers: {
        cookie: root,
        'X-Auth-Request-User': 'mallory',
        X_Auth_Request_Email: 'mallory@evil.example',
        'X-Auth-Request-Groups': 'admins',
        'X-Forwarded-For': '6.6.6.6',
        'X-Forwarded-Host': 'evil.example',
        'X-Forwarded-Proto': 'https',
        'X-Real-IP': '6.6.6.6',
        'X-Scheme': 'https',
        Forwarded: 'for=6.6.6.6',
        Connection: 'keep-alive, X-Secret-Hop',
        'X-Secret-Hop': 'dropped',
        'Keep-Alive': 'timeout=5',
        TE: 'trailers',
        'Proxy-Authorization': 'Basic Zm9vOmJhcg==',
        Host: `flower.example:${gate.port}`,
      },
    });
    t.is(res.status, 200);
    const echoed = JSON.parse(res.body) as { headers: Record<string, string> };
    const h = echoed.headers;
    t.is(h['x-auth-request-user'], 'root');
    t.is(h['x-auth-request-email'], USERS.root.email);
    t.is(h['x-auth-request-groups'], 'flower-admins,ops');
    t.false(
      'x_auth_request_email' in h,
      'the underscore spelling a WSGI server would read as the same header is dropped',
    );
    t.is(h['x-forwarded-for'], '127.0.0.1');
    t.is(h['x-real-ip'], '127.0.0.1');
    t.is(h['x-forwarded-proto'], 'http');
    t.is(h['x-forwarded-host'], `flower.example:${gate.port}`);
    t.is(
      h.host,
      `flower.example:${gate.port}`,
      'Host is kept, as nginx does with proxy_set_header Host $host',
    );
    for (const name of ['x-scheme', 'forwarded', 'x-secret-hop', 'keep-alive', 'te', 'proxy-authorization']) {
      t.false(name in h, `${name} is not forwarded`);
    }
    t.not(h.connection, 'keep-alive, X-Secret-Hop');
  },
);

maybe('X-Forwarded-* from a trusted proxy are believed and extended', async (t) => {
  const { site, flower, root } = await env();
  const trusting = await startGate({
    site,
    upstream: flower,
    env: { FLOWERGATE_TRUSTED_PROXIES: '127.0.0.0/8' },
    t,
  });
  const res = await request(`${trusting.url}${PREFIX}/__echo`, {
    headers: {
      cookie: root,
      'X-Forwarded-For': '203.0.113.9',
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Host': 'ops.example.com',
      origin: 'https://ops.example.com',
    },
    method: 'POST',
    body: 'x',
  });
  t.is(res.status, 200, 'the CSRF guard compares Origin with the public https origin');
  const h = (JSON.parse(res.body) as { headers: Record<string, string> }).headers;
  t.is(h['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
  t.is(h['x-real-ip'], '203.0.113.9');
  t.is(h['x-forwarded-proto'], 'https');
  t.is(h['x-forwarded-host'], 'ops.example.com');
});

maybe("Flower's Access-Control-Allow-Origin: * (and every Access-Control-* header) is removed", async (t) => {
  const { gate, flower, root } = await env();
  const direct = await request(`${flower.base}/api/workers`);
  t.is(direct.headers['access-control-allow-origin'], '*', 'the upstream does send it');
  const proxied = await request(`${gate.url}${PREFIX}/api/workers`, { headers: { cookie: root } });
  t.is(proxied.status, 200);
  t.deepEqual(
    Object.keys(proxied.headers).filter((name) => name.startsWith('access-control-')),
    [],
  );
  const preflight = await request(`${gate.url}${PREFIX}/api/task/revoke/x`, {
    method: 'OPTIONS',
    headers: { cookie: root, origin: 'https://evil.example', 'access-control-request-method': 'POST' },
  });
  t.is(preflight.headers['access-control-allow-origin'], undefined, 'a cross-origin preflight gets no grant');
});

maybe(
  'url_prefix: /flower and / redirect to /flower/; absolute upstream Locations are rewritten, relative kept',
  async (t) => {
    const { gate, flower, root } = await env();
    const bare = await request(`${gate.url}${PREFIX}?autorefresh=1`, { headers: HTML });
    t.is(bare.status, 301);
    t.is(bare.headers.location, `${PREFIX}/?autorefresh=1`);
    const post = await request(`${gate.url}${PREFIX}`, { method: 'POST', body: '' });
    t.is(post.status, 308, 'a non-GET keeps its method');
    const root_ = await request(`${gate.url}/`, { headers: HTML });
    t.is(root_.status, 302);
    t.is(root_.headers.location, `${PREFIX}/`);
    const followed = await request(`${gate.url}${bare.headers.location}`, {
      headers: { cookie: root, ...HTML },
    });
    t.is(followed.status, 200, 'the redirect target is the dashboard');

    const status = (location: string) =>
      request(`${gate.url}${PREFIX}/__status/302?location=${encodeURIComponent(location)}`, {
        headers: { cookie: root },
      });
    t.is(
      (await status(`${flower.url}${PREFIX}/tasks?a=%2F&b=1`)).headers.location,
      `${gate.url}${PREFIX}/tasks?a=%2F&b=1`,
      'an absolute URL to the upstream becomes the public one, path and query byte for byte',
    );
    t.is(
      (await status(`${PREFIX}/login?next=%2Fflower%2F`)).headers.location,
      `${PREFIX}/login?next=%2Fflower%2F`,
    );
    t.is((await status('https://docs.celeryq.dev/')).headers.location, 'https://docs.celeryq.dev/');

    const trusting = await startGate({
      site: (await env()).site,
      upstream: flower,
      env: { FLOWERGATE_TRUSTED_PROXIES: '127.0.0.1/32' },
      t,
    });
    const behindTls = await request(
      `${trusting.url}${PREFIX}/__status/301?location=${encodeURIComponent(`http://ops.example.com${PREFIX}/x`)}`,
      { headers: { cookie: root, 'x-forwarded-proto': 'https', 'x-forwarded-host': 'ops.example.com' } },
    );
    t.is(
      behindTls.headers.location,
      `https://ops.example.com${PREFIX}/x`,
      'the public scheme replaces a wrong one',
    );
  },
);

maybe('a chunked DELETE body cannot smuggle a second request to the upstream', async (t) => {
  const { gate, flower, root } = await env();
  const tag = randomUUID();
  const smuggled = `GET ${PREFIX}/api/worker/shutdown/${FAKE_WORKER}?smuggled=${tag} HTTP/1.1\r\nHost: x\r\n\r\n`;
  const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(`${gate.url}${PREFIX}/__echo?tag=${tag}`, {
      method: 'DELETE',
      headers: { cookie: root, origin: gate.url, 'transfer-encoding': 'chunked' },
      agent: false,
    });
    req.on('response', (r) => {
      let body = '';
      r.on('data', (c: Buffer) => {
        body += c;
      });
      r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(smuggled);
  });
  t.is(res.status, 200);
  t.is(
    (JSON.parse(res.body) as { bodyBytes: number }).bodyBytes,
    Buffer.byteLength(smuggled),
    'the body arrived as a body',
  );
  // Flower reads a connection's requests in order, and the gate reuses its upstream connections: once a
  // request sent after this one has reached Flower, a smuggled one would have too (no wall-clock wait).
  const after = await request(`${gate.url}${PREFIX}/api/workers?after=${tag}`, { headers: { cookie: root } });
  t.is(after.status, 200);
  const seen = await flower.requests();
  t.true(seen.some((r) => r.query.includes(`after=${tag}`)));
  t.false(seen.some((r) => r.query.includes(`smuggled=${tag}`)));
});

maybe(
  'every proxied request is timed by method and code; decisions are counted under dialect proxy',
  async (t) => {
    const { site, flower, root } = await env();
    const gate = await startGate({ site, upstream: flower, t });
    await request(`${gate.url}${PREFIX}/api/workers`, { headers: { cookie: root } });
    await request(`${gate.url}${PREFIX}/nothing-here`, { headers: { cookie: root } });
    await request(`${gate.url}${PREFIX}/api/workers`);
    const text = await gate.metrics();
    t.is(sample(text, 'flowergate_proxy_request_duration_seconds_count{method="GET",code="200"}'), 1);
    t.is(sample(text, 'flowergate_proxy_request_duration_seconds_count{method="GET",code="404"}'), 1);
    t.is(sample(text, 'flowergate_auth_decisions_total{dialect="proxy",decision="allow",reason="ok"}'), 2);
    t.is(
      sample(
        text,
        'flowergate_auth_decisions_total{dialect="proxy",decision="unauthenticated",reason="no_cookie"}',
      ),
      1,
    );
    const audit = gate.logs().filter((line) => line['dialect'] === 'proxy');
    t.is(audit.length, 3);
    t.like(audit[0], { user: 'root', decision: 'allow', path: `${PREFIX}/api/workers` });
  },
);

maybe(
  'the path judged is the path Flower receives, byte for byte; an ambiguous, outside-prefix or other-host request never reaches it',
  async (t) => {
    const { gate, flower, root, staff } = await env();
    const tag = randomUUID();
    // Characters that are legal and left alone: judged as they are, and forwarded as they are.
    const odd = `${PREFIX}/api/task/info/a;b=c%40d%E2%82%AC~!$&'()*+,=:@?tag=${tag}&x=/../%2e//`;
    await request(gate.url, { target: odd, headers: { cookie: staff } });
    const seen = (await flower.requests()).filter((r) => r.query.includes(tag));
    t.is(seen.length, 1);
    t.is(seen[0]?.uri, odd);

    const refusedTag = randomUUID();
    const refusals: Array<[string, Record<string, string>, number, string]> = [
      [`${PREFIX}/api/task/info/x/../../../../workers`, {}, 400, 'ambiguous_path'],
      [`${PREFIX}/workers/%2e%2E/api/workers`, {}, 400, 'ambiguous_path'],
      [`${PREFIX}//api/workers`, {}, 400, 'ambiguous_path'],
      [`${PREFIX}/%61pi/workers`, {}, 400, 'ambiguous_path'],
      [`${PREFIX}/tasks/http:/x`, {}, 400, 'ambiguous_path'],
      ['/elsewhere/api/workers', {}, 404, 'outside_prefix'],
      [`${PREFIX}x/api/workers`, {}, 404, 'outside_prefix'],
      [`${PREFIX}/api/workers`, { host: 'evil.example' }, 400, 'disallowed_host'],
      [
        `${PREFIX}/api/workers`,
        { 'x-forwarded-host': 'evil.example', host: 'evil.example' },
        400,
        'disallowed_host',
      ],
    ];
    for (const [path, headers, status, reason] of refusals) {
      const target = `${path}?tag=${refusedTag}`;
      const res = await request(gate.url, { target, headers: { cookie: root, ...headers } });
      t.is(res.status, status, target);
      t.like(JSON.parse(res.body), { decision: 'forbidden', reason }, target);
    }
    t.false(
      (await flower.requests()).some((r) => r.query.includes(refusedTag)),
      'no refused request reached Flower',
    );
    // The honest twin: the superuser's plain request is proxied.
    const honest = await request(`${gate.url}${PREFIX}/api/workers?tag=${refusedTag}`, {
      headers: { cookie: root },
    });
    t.is(honest.status, 200);
    // Each refusal is a counted decision; an absolute-form target too (refused before any path is read).
    const series = (reason: string) =>
      `flowergate_auth_decisions_total{dialect="proxy",decision="forbidden",reason="${reason}"}`;
    const before = sample(await gate.metrics(), series('bad_request')) ?? 0;
    const absolute = await request(gate.url, {
      target: `http://127.0.0.1:${gate.port}${PREFIX}/api/workers`,
      headers: { cookie: root },
    });
    t.is(absolute.status, 400);
    t.like(JSON.parse(absolute.body), { decision: 'forbidden', reason: 'bad_request' });
    const text = await gate.metrics();
    t.is(sample(text, series('bad_request')), before + 1);
    t.true((sample(text, series('ambiguous_path')) ?? 0) >= 5);
    t.true((sample(text, series('outside_prefix')) ?? 0) >= 2);
    t.true((sample(text, series('disallowed_host')) ?? 0) >= 2);
  },
);
