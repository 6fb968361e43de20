// End to end through a real nginx configured as ingress-nginx configures external auth (test/support/nginx.ts:
// internal auth location → flowergate's /_flowergate/auth/nginx with X-Original-URL/-Method, keep-alive pool,
// auth-response-headers copied upstream, `error_page 401` → the Django login with `next`), in front of the
// Tornado Flower stand-in. Sessions are made by real Django (its login form); flowergate runs as
// `node src/cli.ts serve` with examples/flower-policy.yaml and reads Django's SQLite database.

import { join } from 'node:path';
import {
  auditLines,
  djangoTool,
  marker,
  request,
  seenUpstream,
  shared,
  startDjangoSite,
  startFlowergate,
} from '../support/e2e.ts';
import { startFlowerUpstream } from '../support/flower-upstream.ts';
import { startNginx } from '../support/nginx.ts';
import { freePort, makeTempDir, removeDir } from '../support/processes.ts';
import { toolTest } from '../support/require-tool.ts';

const maybe = await toolTest('nginx', 'nginx-set-misc', 'tornado', djangoTool());

const setup = shared(async (t) => {
  const site = await startDjangoSite({ t });
  const flower = await startFlowerUpstream({ t });
  const fg = await startFlowergate({ site, mode: 'process', t });
  const authUrl = `${fg.url}/_flowergate/auth/nginx`;
  // ingress-nginx with auth-signin: <login>, auth-signin-redirect-param: next
  const nginx = await startNginx({ authUrl, upstream: flower.url, signinUrl: site.loginUrl, t });
  // ingress-nginx with auth-url only
  const bare = await startNginx({ authUrl, upstream: flower.url, t });
  return { site, flower, fg, nginx, bare };
});

maybe("a superuser's Django session passes nginx, and Flower learns who it is from flowergate", async (t) => {
  const { site, flower, nginx } = await setup();
  const m = marker('super');
  const res = await request(`${nginx.url}/workers?m=${m}`, {
    headers: { cookie: await site.cookie('root'), accept: 'text/html' },
  });
  t.is(res.status, 200);
  t.regex(res.body, /<h1>Workers<\/h1>/, "Flower's page came back");
  const [seen] = await seenUpstream(flower, m);
  t.like(seen?.headers, {
    'x-auth-request-user': 'root',
    'x-auth-request-email': 'root@example.com',
    'x-auth-request-groups': 'flower-admins,ops',
  });
  const logged = new RegExp(`200 GET /workers\\?m=${m} auth=200 upstream=200`);
  t.regex(await nginx.accessLogMatching(logged), logged);
});

maybe('under the example policy staff may look (GET) but POST /api/worker/shutdown/x is 403', async (t) => {
  const { site, flower, nginx } = await setup();
  const cookie = await site.cookie('staff');
  const look = marker('look');
  const res = await request(`${nginx.url}/tasks?m=${look}`, { headers: { cookie } });
  t.is(res.status, 200);
  t.is((await seenUpstream(flower, look))[0]?.headers['x-auth-request-user'], 'staff');

  const act = marker('act');
  const shutdown = await request(`${nginx.url}/api/worker/shutdown/w1@host?m=${act}`, {
    method: 'POST',
    headers: { cookie, origin: nginx.url, 'x-requested-with': 'XMLHttpRequest' },
    body: '',
  });
  t.is(shutdown.status, 403);
  t.is(shutdown.headers.location, undefined, 'a 403 is never sent to the login page');
  t.deepEqual(await seenUpstream(flower, act), [], 'Flower never saw the shutdown');
});

maybe("a superuser's same-origin POST acts; from another origin it is refused (CSRF guard)", async (t) => {
  const { site, flower, nginx, fg } = await setup();
  const cookie = await site.cookie('root');
  const ok = marker('revoke');
  const res = await request(`${nginx.url}/api/task/revoke/8d3c2b1a-0000-4000-8000-000000000001?m=${ok}`, {
    method: 'POST',
    headers: { cookie, origin: nginx.url },
    body: '',
  });
  t.log(JSON.stringify(fg.logs().filter((l) => l.level !== 'info')), nginx.accessLog());
  t.is(res.status, 200);
  t.is((await seenUpstream(flower, ok))[0]?.method, 'POST');

  const cross = marker('csrf');
  const forged = await request(`${nginx.url}/api/worker/shutdown/w1@host?m=${cross}`, {
    method: 'POST',
    headers: { cookie, origin: 'https://evil.example' },
    body: '',
  });
  t.is(forged.status, 403);
  t.deepEqual(await seenUpstream(flower, cross), []);
  t.true(
    auditLines(fg).some(
      (line) => line.path === '/api/worker/shutdown/w1@host' && line.reason === 'csrf_origin_mismatch',
    ),
  );
});

maybe(
  'without a cookie nginx sends the browser to the real Django login with next = the original URL, and back',
  async (t) => {
    const { site, flower, nginx } = await setup();
    const m = marker('login');
    const original = `${nginx.url}/tasks?state=FAILURE&m=${m}`;
    const res = await request(original, { headers: { accept: 'text/html' } });
    t.is(res.status, 302);
    const location = new URL(String(res.headers.location));
    t.is(`${location.origin}${location.pathname}`, site.loginUrl);
    t.is(location.searchParams.get('next'), original);
    t.deepEqual(await seenUpstream(flower, m), [], 'nothing reached Flower before the login');

    // Django's own login page, with that next
    const page = await request(location.href);
    t.is(page.status, 200);
    t.regex(page.body, /id="id_username"/);
    const login = await site.login('root', { next: original });
    t.is(login.location, original, 'Django sends the browser back to the page it came from');
    const back = await request(login.location, { headers: { cookie: login.cookie } });
    t.is(back.status, 200);
    t.is((await seenUpstream(flower, m))[0]?.headers['x-auth-request-user'], 'root');
  },
);

maybe(
  'a garbage or forged session cookie is 401 from plain auth-url and 302 to the login with auth-signin',
  async (t) => {
    const { site, flower, nginx, bare } = await setup();
    const real = (await site.login('root')).sessionid;
    const bad = [
      'sessionid=garbage',
      `sessionid=${'a'.repeat(32)}`,
      `sessionid=${real.slice(0, -1)}${real.endsWith('x') ? 'y' : 'x'}`,
      `sessionid="${real}\\x"`,
    ];
    for (const cookie of bad) {
      const m = marker('garbage');
      const plain = await request(`${bare.url}/?m=${m}`, { headers: { cookie } });
      t.is(plain.status, 401, cookie);
      const signin = await request(`${nginx.url}/?m=${m}`, { headers: { cookie } });
      t.is(signin.status, 302, cookie);
      t.true(String(signin.headers.location).startsWith(`${site.loginUrl}?next=`));
      t.deepEqual(await seenUpstream(flower, m), [], cookie);
    }
  },
);

maybe(
  'a Django logout takes effect at once (caching off): the same cookie is sent to the login again',
  async (t) => {
    const { site, nginx } = await setup();
    const { cookie } = await site.login('root');
    t.is((await request(`${nginx.url}/workers`, { headers: { cookie } })).status, 200);
    const logout = await request(`${site.url}/accounts/logout/`, { headers: { cookie } });
    t.is(logout.status, 302);
    t.is((await request(`${nginx.url}/workers`, { headers: { cookie } })).status, 302);
  },
);

maybe('the public /healthcheck rule lets probes in without a session', async (t) => {
  const { flower, nginx } = await setup();
  const m = marker('health');
  const res = await request(`${nginx.url}/healthcheck?m=${m}`);
  t.is(res.status, 200);
  t.is(res.body, 'OK');
  t.is((await seenUpstream(flower, m))[0]?.headers['x-auth-request-user'], undefined);
});

maybe(
  'with the session store down flowergate fails closed: nginx answers 500 and Flower never sees the request',
  async (t) => {
    const { site, flower } = await setup();
    const dir = makeTempDir('e2e-missing-db');
    t.teardown(async () => removeDir(dir));
    const down = await startFlowergate({
      site,
      env: { FLOWERGATE_DJANGO_DATABASE_URL: `sqlite:///${join(dir, 'gone', 'db.sqlite3')}` },
      t,
    });
    const nginx = await startNginx({
      authUrl: `${down.url}/_flowergate/auth/nginx`,
      upstream: flower.url,
      signinUrl: site.loginUrl,
      t,
    });
    const m = marker('down');
    for (const path of [`/workers?m=${m}`, `/api/worker/shutdown/w1@host?m=${m}`]) {
      const res = await request(`${nginx.url}${path}`, {
        method: path.includes('shutdown') ? 'POST' : 'GET',
        headers: { cookie: await site.cookie('root'), origin: nginx.url },
        body: '',
      });
      t.is(res.status, 500, path);
    }
    t.deepEqual(await seenUpstream(flower, m), []);
    t.deepEqual(
      [...new Set(auditLines(down).map((line) => `${line.decision}/${line.reason}`))],
      ['error/store_unavailable'],
    );
    // the public rule needs no store, so probes still pass
    t.is((await request(`${nginx.url}/healthcheck`)).status, 200);

    // and flowergate itself unreachable: nginx's 500 again
    const nobody = await startNginx({
      authUrl: `http://127.0.0.1:${await freePort()}/_flowergate/auth/nginx`,
      upstream: flower.url,
      t,
    });
    const gone = marker('gone');
    const res = await request(`${nobody.url}/workers?m=${gone}`, {
      headers: { cookie: await site.cookie('root') },
    });
    t.is(res.status, 500);
    t.deepEqual(await seenUpstream(flower, gone), []);
  },
);
