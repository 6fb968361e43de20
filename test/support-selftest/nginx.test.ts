import { startFlowerUpstream } from '../support/flower-upstream.ts';
import { startNginx } from '../support/nginx.ts';
import { toolTest } from '../support/require-tool.ts';
import { startAuthStub } from './auth-stub.ts';

const maybe = await toolTest('nginx', 'tornado');
const maybeSignin = await toolTest('nginx', 'nginx-set-misc', 'tornado');

const AUTH_PATH = '/_flowergate/auth/nginx';

maybe('nginx asks the auth URL like ingress-nginx and copies the identity headers upstream', async (t) => {
  const auth = await startAuthStub();
  t.teardown(auth.stop);
  const flower = await startFlowerUpstream({ prefix: 'flower', t });
  const nginx = await startNginx({ authUrl: `${auth.origin}${AUTH_PATH}`, upstream: flower.url, t });

  const res = await fetch(`${nginx.url}/flower/api/workers?refresh=1`, {
    headers: { cookie: 'sessionid=super', 'x-auth-request-user': 'mallory' },
  });
  t.is(res.status, 200);
  t.is(res.headers.get('access-control-allow-origin'), '*', "Flower's own headers come through");

  const sub = auth.seen.at(-1);
  t.is(sub?.method, 'GET');
  t.is(sub?.url, AUTH_PATH);
  t.like(sub?.headers, {
    host: '127.0.0.1',
    'x-original-url': `http://127.0.0.1:${nginx.port}/flower/api/workers?refresh=1`,
    'x-original-method': 'GET',
    'x-auth-request-redirect': '/flower/api/workers?refresh=1',
    'x-sent-from': 'nginx-ingress-controller',
    'x-real-ip': '127.0.0.1',
    'x-forwarded-for': '127.0.0.1',
    cookie: 'sessionid=super',
  });
  t.is(sub?.headers['x-forwarded-proto'], undefined);
  t.is(sub?.headers['content-length'], undefined);

  const [up] = await flower.requests();
  t.like(up?.headers, {
    'x-auth-request-user': 'alice',
    'x-auth-request-email': 'alice@example.com',
    'x-auth-request-groups': 'superusers',
    'x-forwarded-host': `127.0.0.1:${nginx.port}`,
    'x-forwarded-proto': 'http',
  });
  const logged = /200 GET \/flower\/api\/workers\?refresh=1 auth=200 upstream=200/;
  t.regex(await nginx.accessLogMatching(logged), logged);
});

maybe(
  'nginx: the subrequest is a body-less GET; a header the auth reply lacks is dropped, client copy too',
  async (t) => {
    const auth = await startAuthStub();
    t.teardown(auth.stop);
    const flower = await startFlowerUpstream({ prefix: 'flower', t });
    const nginx = await startNginx({ authUrl: `${auth.origin}${AUTH_PATH}`, upstream: flower.url, t });

    const res = await fetch(`${nginx.url}/flower/api/task/revoke/abc`, {
      method: 'POST',
      body: 'terminate=true',
      headers: { cookie: 'sessionid=partial', 'x-auth-request-groups': 'admins' },
    });
    t.is(res.status, 200);
    const sub = auth.seen.at(-1);
    t.is(sub?.method, 'GET');
    t.is(sub?.headers['x-original-method'], 'POST');
    t.is(sub?.bodyBytes, 0);
    const up = (await flower.requests()).at(-1);
    t.is(up?.method, 'POST');
    t.is(up?.headers['content-length'], '14');
    t.is(up?.headers['x-auth-request-user'], 'bob');
    t.is(up?.headers['x-auth-request-groups'], undefined);
    t.is(up?.headers['x-auth-request-email'], undefined);
  },
);

maybe(
  'nginx: 401 and 403 reach the client without a sign-in URL; connections to auth are kept alive',
  async (t) => {
    const auth = await startAuthStub();
    t.teardown(auth.stop);
    const flower = await startFlowerUpstream({ prefix: 'flower', t });
    const nginx = await startNginx({ authUrl: `${auth.origin}${AUTH_PATH}`, upstream: flower.url, t });

    const anon = await fetch(`${nginx.url}/flower/`);
    t.is(anon.status, 401);
    t.is(anon.headers.get('www-authenticate'), 'Cookie realm="django"');
    t.notRegex(await anon.text(), /unauthorized by stub/, "nginx replaces the auth service's body");
    const staff = await fetch(`${nginx.url}/flower/`, { headers: { cookie: 'sessionid=staff' } });
    t.is(staff.status, 403);
    await staff.arrayBuffer();
    for (let i = 0; i < 10; i++) {
      await (
        await fetch(`${nginx.url}/flower/healthcheck`, { headers: { cookie: 'sessionid=super' } })
      ).arrayBuffer();
    }
    t.is(auth.seen.length, 12);
    // the 401 and 403 replies have a body, which nginx never reads, so it closes those two connections; the ten
    // body-less 200s share one pooled keep-alive connection
    t.is(auth.connections(), 3);
    t.deepEqual(
      (await flower.requests()).map((r) => r.path),
      Array(10).fill('/flower/healthcheck'),
      'nothing denied reached Flower',
    );
  },
);

maybeSignin(
  'nginx: a 401 becomes a 302 to the sign-in URL with next=<original URL>; a 403 does not',
  async (t) => {
    const auth = await startAuthStub();
    t.teardown(auth.stop);
    const flower = await startFlowerUpstream({ prefix: 'flower', t });
    const nginx = await startNginx({
      authUrl: `${auth.origin}${AUTH_PATH}`,
      upstream: flower.url,
      signinUrl: 'http://django.test/admin/login/',
      t,
    });
    const res = await fetch(`${nginx.url}/flower/tasks?a=b&c=d`, { redirect: 'manual' });
    t.is(res.status, 302);
    t.is(
      res.headers.get('location'),
      `http://django.test/admin/login/?next=http://127.0.0.1:${nginx.port}%2Fflower%2Ftasks%3Fa%3Db%26c%3Dd`,
    );
    const staff = await fetch(`${nginx.url}/flower/`, {
      headers: { cookie: 'sessionid=staff' },
      redirect: 'manual',
    });
    t.is(staff.status, 403);
    t.is((await fetch(`${nginx.url}/flower/`, { headers: { cookie: 'sessionid=super' } })).status, 200);

    const withParam = await startNginx({
      authUrl: `${auth.origin}${AUTH_PATH}`,
      upstream: flower.url,
      signinUrl: 'http://django.test/login/?next=/static-target/',
      t,
    });
    const fixed = await fetch(`${withParam.url}/flower/`, { redirect: 'manual' });
    t.is(fixed.headers.get('location'), 'http://django.test/login/?next=/static-target/');
  },
);

maybe(
  "recipe 'auth_request' sets only X-Original-URL and X-Original-Method and passes the client's other headers",
  async (t) => {
    const auth = await startAuthStub();
    t.teardown(auth.stop);
    const flower = await startFlowerUpstream({ prefix: 'flower', t });
    const nginx = await startNginx({
      recipe: 'auth_request',
      authUrl: `${auth.origin}${AUTH_PATH}`,
      upstream: flower.url,
      t,
    });
    const res = await fetch(`${nginx.url}/flower/tasks/datatable?draw=1`, {
      method: 'POST',
      headers: {
        cookie: 'sessionid=super',
        'x-original-url': 'http://evil.example/forged',
        'x-original-method': 'GET',
        'x-forwarded-uri': '/forged',
      },
    });
    t.is(res.status, 200);
    const sub = auth.seen.at(-1);
    t.like(sub?.headers, {
      'x-original-url': `http://127.0.0.1:${nginx.port}/flower/tasks/datatable?draw=1`,
      'x-original-method': 'POST',
      // not set by the recipe: the client's copy arrives as sent
      'x-forwarded-uri': '/forged',
      cookie: 'sessionid=super',
    });
    t.is(sub?.headers['x-sent-from'], undefined, 'none of the ingress-only headers');
    t.is(sub?.headers['x-auth-request-redirect'], undefined);
    t.is(sub?.headers['content-length'], undefined);
  },
);

maybe('nginx proxies WebSockets and streams responses unbuffered', async (t) => {
  const auth = await startAuthStub();
  t.teardown(auth.stop);
  const flower = await startFlowerUpstream({ prefix: 'flower', t });
  const nginx = await startNginx({ authUrl: `${auth.origin}${AUTH_PATH}`, upstream: flower.url, t });

  const ws = new WebSocket(`ws://127.0.0.1:${nginx.port}/flower/ws/echo`, {
    headers: { cookie: 'sessionid=super' },
  } as unknown as string[]);
  t.teardown(() => ws.close());
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error('websocket through nginx failed'));
  });
  const reply = new Promise((resolve) =>
    ws.addEventListener('message', (e) => resolve(e.data), { once: true }),
  );
  ws.send('through nginx');
  t.is(await reply, 'through nginx');

  const started = Date.now();
  const res = await fetch(
    `${nginx.url}/flower/stream?size=${5 * 64 * 1024}&chunk=${64 * 1024}&delay_ms=1000`,
    {
      headers: { cookie: 'sessionid=super' },
    },
  );
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let total = (await reader.read()).value?.length ?? 0;
  const firstChunkAt = Date.now() - started;
  for (let r = await reader.read(); !r.done; r = await reader.read()) total += r.value.length;
  const lastChunkAt = Date.now() - started;
  t.is(total, 5 * 64 * 1024);
  // 5 chunks 1 s apart: the upstream's sleeps bound the total from below; unbuffered, the first bytes come
  // seconds before the last, buffered they come together. The gaps are long so that a busy test process that
  // reads late cannot make an unbuffered stream look buffered.
  t.true(lastChunkAt >= 0.9 * 4000, `the body took ${lastChunkAt} ms`);
  t.true(lastChunkAt - firstChunkAt >= 2000, `first bytes at ${firstChunkAt} ms, last at ${lastChunkAt} ms`);
});

maybe('nginx: a bad config fails fast and quotes nginx stderr', async (t) => {
  const err = await t.throwsAsync(
    startNginx({
      authUrl: 'http://127.0.0.1:9/x',
      upstream: 'http://127.0.0.1:9',
      snippets: { location: 'this_is_not_a_directive on;' },
    }),
  );
  t.regex(err?.message ?? '', /unknown directive "this_is_not_a_directive"/);
});

maybe(
  'nginx and Caddy on a taken port fail with "address in use" instead of trusting the squatter',
  async (t) => {
    const { createServer } = await import('node:net');
    const { startCaddy } = await import('../support/caddy.ts');
    const squatter = createServer((s) => s.destroy());
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    t.teardown(() => squatter.close());
    const port = (squatter.address() as { port: number }).port;
    const nginxErr = await t.throwsAsync(
      startNginx({ authUrl: 'http://127.0.0.1:9/x', upstream: 'http://127.0.0.1:9', port }),
    );
    t.regex(nginxErr?.message ?? '', /Address already in use/);
    if ((await toolTest('caddy')).available) {
      const caddyErr = await t.throwsAsync(
        startCaddy({ auth: '127.0.0.1:9', upstream: '127.0.0.1:9', port }),
      );
      t.regex(caddyErr?.message ?? '', /address already in use/);
    }
  },
);
