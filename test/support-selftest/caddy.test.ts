import http from 'node:http';
import { startCaddy } from '../support/caddy.ts';
import { startFlowerUpstream } from '../support/flower-upstream.ts';
import { toolTest } from '../support/require-tool.ts';
import { startAuthStub } from './auth-stub.ts';

const maybe = await toolTest('caddy', 'tornado');

maybe('Caddy forward_auth sends X-Forwarded-* to the auth URI and copies the identity headers', async (t) => {
  const auth = await startAuthStub();
  t.teardown(auth.stop);
  const flower = await startFlowerUpstream({ prefix: 'flower', t });
  const caddy = await startCaddy({ auth: auth.origin, upstream: flower.url, t });

  const res = await fetch(`${caddy.url}/flower/api/task/revoke/abc?terminate=true`, {
    method: 'POST',
    body: 'x=1',
    headers: { cookie: 'sessionid=super' },
  });
  t.is(res.status, 200);
  t.deepEqual(await res.json(), { message: "Revoked 'abc'" });

  const sub = auth.seen.at(-1);
  t.is(sub?.method, 'GET');
  // Caddy 2.6 rewrites only the path: the client's query string rides along on the auth URI
  t.is(sub?.url, '/_flowergate/auth/forward?terminate=true');
  t.is(sub?.bodyBytes, 0);
  t.like(sub?.headers, {
    'x-forwarded-method': 'POST',
    'x-forwarded-uri': '/flower/api/task/revoke/abc?terminate=true',
    'x-forwarded-host': `127.0.0.1:${caddy.port}`,
    'x-forwarded-proto': 'http',
    'x-forwarded-for': '127.0.0.1',
    cookie: 'sessionid=super',
  });

  const up = (await flower.requests()).at(-1);
  t.is(up?.method, 'POST');
  t.like(up?.headers, {
    'x-auth-request-user': 'alice',
    'x-auth-request-email': 'alice@example.com',
    'x-auth-request-groups': 'superusers',
  });
});

maybe('Caddy serves any Host header (the site address has no host)', async (t) => {
  const auth = await startAuthStub();
  t.teardown(auth.stop);
  const flower = await startFlowerUpstream({ prefix: 'flower', t });
  const caddy = await startCaddy({ auth: auth.origin, upstream: flower.url, t });
  const body = await new Promise<string>((resolve, reject) => {
    http
      .get(
        `${caddy.url}/flower/healthcheck`,
        { headers: { host: 'flower.example.com', cookie: 'sessionid=super' } },
        (res) => {
          let text = '';
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => resolve(`${res.statusCode} ${text}`));
        },
      )
      .on('error', reject);
  });
  t.is(body, '200 OK');
  t.is(auth.seen.at(-1)?.headers['x-forwarded-host'], 'flower.example.com');
  t.is((await flower.requests()).at(-1)?.headers.host, 'flower.example.com');
});

maybe('Caddy passes 401 and 403 from the auth service through unchanged, body included', async (t) => {
  const auth = await startAuthStub();
  t.teardown(auth.stop);
  const flower = await startFlowerUpstream({ prefix: 'flower', t });
  const caddy = await startCaddy({ auth: `127.0.0.1:${auth.port}`, upstream: `127.0.0.1:${flower.port}`, t });

  const anon = await fetch(`${caddy.url}/flower/`);
  t.is(anon.status, 401);
  t.is(anon.headers.get('www-authenticate'), 'Cookie realm="django"');
  t.is(await anon.text(), 'unauthorized by stub\n');
  const staff = await fetch(`${caddy.url}/flower/`, { headers: { cookie: 'sessionid=staff' } });
  t.is(staff.status, 403);
  t.is(await staff.text(), 'forbidden by stub\n');
  t.deepEqual(await flower.requests(), [], 'nothing denied reached Flower');
});

maybe(
  'Caddy 2.6: a copy_headers header missing from the auth reply reaches upstream as a placeholder',
  async (t) => {
    const auth = await startAuthStub();
    t.teardown(auth.stop);
    const flower = await startFlowerUpstream({ prefix: 'flower', t });
    const caddy = await startCaddy({ auth: auth.origin, upstream: flower.url, t });

    const res = await fetch(`${caddy.url}/flower/`, {
      headers: { cookie: 'sessionid=partial', 'x-auth-request-groups': 'admins' },
    });
    t.is(res.status, 200);
    const up = (await flower.requests()).at(-1);
    t.is(up?.headers['x-auth-request-user'], 'bob');
    t.log('upstream saw X-Auth-Request-Email:', up?.headers['x-auth-request-email']);
    t.log('upstream saw X-Auth-Request-Groups:', up?.headers['x-auth-request-groups']);
    t.is(up?.headers['x-auth-request-email'], '{http.reverse_proxy.header.X-Auth-Request-Email}');
    t.is(up?.headers['x-auth-request-groups'], '{http.reverse_proxy.header.X-Auth-Request-Groups}');
  },
);

maybe('Caddy proxies WebSockets after forward_auth', async (t) => {
  const auth = await startAuthStub();
  t.teardown(auth.stop);
  const flower = await startFlowerUpstream({ prefix: 'flower', t });
  const caddy = await startCaddy({ auth: auth.origin, upstream: flower.url, t });
  const ws = new WebSocket(`ws://127.0.0.1:${caddy.port}/flower/ws/echo`, {
    headers: { cookie: 'sessionid=super' },
  } as unknown as string[]);
  t.teardown(() => ws.close());
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error('websocket through Caddy failed'));
  });
  const reply = new Promise((resolve) =>
    ws.addEventListener('message', (e) => resolve(e.data), { once: true }),
  );
  ws.send('through caddy');
  t.is(await reply, 'through caddy');
  const sub = auth.seen.at(-1);
  t.is(sub?.headers['x-forwarded-uri'], '/flower/ws/echo');
  // Caddy 2.6 forwards the handshake headers to the auth service too; a Node server with an 'upgrade'
  // listener would route that auth request to the listener, not to its request handler
  t.is(sub?.url, '/_flowergate/auth/forward');
  t.is(sub?.headers.upgrade, 'websocket');
  t.is(sub?.headers.connection, 'Upgrade');
});
