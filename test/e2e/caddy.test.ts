// End to end through a real Caddy `forward_auth` (test/support/caddy.ts: uri /_flowergate/auth/forward,
// copy_headers X-Auth-Request-User X-Auth-Request-Email X-Auth-Request-Groups) in front of the Tornado Flower
// stand-in. Sessions are made by real Django (its login form). flowergate runs in-process with the example
// Flower policy plus one rule that keeps the broker page for superusers. Unlike nginx, Caddy hands flowergate's
// own answers to the client: the 302 to the login, the 401 JSON, the 403 page.

import { startCaddy } from '../support/caddy.ts';
import {
  auditLines,
  djangoTool,
  EXAMPLE_RULES,
  type HttpResponse,
  marker,
  request,
  seenUpstream,
  shared,
  startDjangoSite,
  startFlowergate,
} from '../support/e2e.ts';
import { startFlowerUpstream } from '../support/flower-upstream.ts';
import { toolTest } from '../support/require-tool.ts';

const maybe = await toolTest('caddy', 'tornado', djangoTool());

const BROKER_RULE = {
  name: 'broker page: superusers only',
  methods: ['GET', 'HEAD'],
  path: { prefix: '/broker' },
  require: 'superuser',
};
const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

const setup = shared(async (t) => {
  const site = await startDjangoSite({ t });
  const flower = await startFlowerUpstream({ t });
  const fg = await startFlowergate({ site, rules: [BROKER_RULE, ...EXAMPLE_RULES], t });
  const caddy = await startCaddy({ auth: fg.address, upstream: flower.url, t });
  return { site, flower, fg, caddy };
});

const json = (res: HttpResponse) => JSON.parse(res.body) as Record<string, unknown>;

maybe("a superuser's Django session passes Caddy, and Flower learns who it is", async (t) => {
  const { site, flower, caddy } = await setup();
  const m = marker('super');
  const res = await request(`${caddy.url}/workers?m=${m}`, {
    headers: { cookie: await site.cookie('root'), accept: HTML },
  });
  t.is(res.status, 200);
  t.regex(res.body, /<h1>Workers<\/h1>/);
  t.like((await seenUpstream(flower, m))[0]?.headers, {
    'x-auth-request-user': 'root',
    'x-auth-request-email': 'root@example.com',
    'x-auth-request-groups': 'flower-admins,ops',
  });
});

maybe(
  'staff may look; their POST /api/worker/shutdown/x is a 403 JSON naming the rule, and Flower never sees it',
  async (t) => {
    const { site, flower, caddy } = await setup();
    const cookie = await site.cookie('staff');
    const look = marker('look');
    t.is((await request(`${caddy.url}/tasks?m=${look}`, { headers: { cookie, accept: HTML } })).status, 200);
    const [seen] = await seenUpstream(flower, look);
    t.is(seen?.headers['x-auth-request-user'], 'staff');
    t.is(seen?.headers['x-auth-request-groups'], '', 'no groups: empty, never Caddy placeholder text');

    const act = marker('act');
    const res = await request(`${caddy.url}/api/worker/shutdown/w1@host?m=${act}`, {
      method: 'POST',
      headers: { cookie, origin: caddy.url, 'x-requested-with': 'XMLHttpRequest', accept: '*/*' },
      body: '',
    });
    t.is(res.status, 403);
    t.regex(String(res.headers['content-type']), /^application\/json/);
    t.like(json(res), { decision: 'forbidden', reason: 'not_superuser', rule: 'default' });
    t.deepEqual(await seenUpstream(flower, act), []);
  },
);

maybe(
  'a browser navigation without a session gets a 302 to the Django login with an absolute Location and next',
  async (t) => {
    const { site, flower, caddy } = await setup();
    for (const method of ['GET', 'HEAD']) {
      const m = marker('nav');
      const original = `${caddy.url}/task/8d3c2b1a-0000-4000-8000-000000000001?tab=result&m=${m}`;
      const res = await request(original, { method, headers: { accept: HTML } });
      t.is(res.status, 302, method);
      const location = String(res.headers.location);
      t.is(location, `${site.loginUrl}?next=${encodeURIComponent(original)}`, method);
      t.is(new URL(location).searchParams.get('next'), original);
      t.is(res.headers['cache-control'], 'no-store');
      t.deepEqual(await seenUpstream(flower, m), []);
    }
  },
);

maybe('following that 302: the real Django login sends the superuser back, and the page loads', async (t) => {
  const { site, flower, caddy } = await setup();
  const m = marker('flow');
  const original = `${caddy.url}/tasks?m=${m}`;
  const first = await request(original, { headers: { accept: HTML } });
  const location = new URL(String(first.headers.location));
  const page = await request(location.href);
  t.is(page.status, 200);
  t.regex(page.body, /<h1>Log in<\/h1>/);
  const login = await site.login('root', { next: location.searchParams.get('next') ?? '' });
  t.is(login.location, original);
  const back = await request(login.location, { headers: { cookie: login.cookie, accept: HTML } });
  t.is(back.status, 200);
  t.regex(back.body, /<h1>Tasks<\/h1>/);
  t.is((await seenUpstream(flower, m))[0]?.headers['x-auth-request-user'], 'root');
});

maybe('XHR and API clients without a session get 401 JSON, never a redirect', async (t) => {
  const { flower, caddy } = await setup();
  const m = marker('xhr');
  const clients: Record<string, string>[] = [
    { 'x-requested-with': 'XMLHttpRequest', accept: HTML }, // jQuery from a page: X-Requested-With wins
    { accept: 'application/json' },
    { accept: '*/*' }, // curl
  ];
  for (const headers of clients) {
    const res = await request(`${caddy.url}/api/workers?m=${m}`, { headers });
    t.is(res.status, 401, JSON.stringify(headers));
    t.is(res.headers.location, undefined);
    t.is(res.headers['www-authenticate'], undefined, 'no Bearer challenge while token auth is off');
    t.like(json(res), { decision: 'unauthenticated', reason: 'no_cookie' });
  }
  t.deepEqual(await seenUpstream(flower, m), []);
});

maybe('an unsafe method without a session is 401, never redirected as if it were a GET', async (t) => {
  const { flower, caddy } = await setup();
  const m = marker('unsafe');
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const res = await request(`${caddy.url}/api/task/revoke/8d3c2b1a-0000-4000-8000-000000000001?m=${m}`, {
      method,
      headers: { accept: HTML, origin: caddy.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'terminate=true',
    });
    t.is(res.status, 401, method);
    t.is(res.headers.location, undefined, method);
  }
  t.deepEqual(await seenUpstream(flower, m), []);
});

maybe(
  "a known user the policy refuses gets flowergate's 403 page naming the user and the rule",
  async (t) => {
    const { site, flower, caddy } = await setup();
    const m = marker('403');
    const staff = await request(`${caddy.url}/broker?m=${m}`, {
      headers: { cookie: await site.cookie('staff'), accept: HTML },
    });
    t.is(staff.status, 403);
    t.regex(String(staff.headers['content-type']), /^text\/html/);
    t.regex(staff.body, /signed in as <strong>staff<\/strong>/);
    t.regex(staff.body, /<code>superuser<\/code>/);
    t.regex(staff.body, /rule <code>broker page: superusers only<\/code>/);
    t.regex(staff.body, /reason <code>not_superuser<\/code>/);

    const plain = await request(`${caddy.url}/?m=${m}`, {
      headers: { cookie: await site.cookie('plain'), accept: HTML },
    });
    t.is(plain.status, 403);
    t.regex(plain.body, /signed in as <strong>plain<\/strong>/);
    t.regex(plain.body, /rule <code>staff may look<\/code>/);
    t.deepEqual(await seenUpstream(flower, m), []);

    const root = await request(`${caddy.url}/broker?m=${m}`, {
      headers: { cookie: await site.cookie('root'), accept: HTML },
    });
    t.is(root.status, 200, 'the superuser gets the broker page');
  },
);

maybe('a garbage session cookie is treated as no session: 302 for a browser, 401 for XHR', async (t) => {
  const { site, flower, caddy, fg } = await setup();
  const m = marker('garbage');
  const cookie = 'sessionid=0123456789abcdefghijklmnopqrstuv';
  const nav = await request(`${caddy.url}/?m=${m}`, { headers: { cookie, accept: HTML } });
  t.is(nav.status, 302);
  t.true(String(nav.headers.location).startsWith(`${site.loginUrl}?next=`));
  const xhr = await request(`${caddy.url}/api/workers?m=${m}`, {
    headers: { cookie, 'x-requested-with': 'XMLHttpRequest' },
  });
  t.is(xhr.status, 401);
  t.like(json(xhr), { reason: 'no_session' });
  t.deepEqual(await seenUpstream(flower, m), []);
  t.true(auditLines(fg).some((line) => line.reason === 'no_session' && line.dialect === 'forward'));
});

maybe(
  "with the session store down Caddy passes on flowergate's 503, and Flower never sees the request",
  async (t) => {
    const { site, flower } = await setup();
    const down = await startFlowergate({
      site,
      env: { FLOWERGATE_DJANGO_DATABASE_URL: 'sqlite:////nonexistent/flowergate-e2e/db.sqlite3' },
      t,
    });
    const caddy = await startCaddy({ auth: down.address, upstream: flower.url, t });
    const m = marker('down');
    const cookie = await site.cookie('root');
    const nav = await request(`${caddy.url}/?m=${m}`, { headers: { cookie, accept: HTML } });
    t.is(nav.status, 503);
    t.is(nav.headers['retry-after'], '5');
    t.regex(nav.body, /503 Service Unavailable/);
    const api = await request(`${caddy.url}/api/worker/shutdown/w1@host?m=${m}`, {
      method: 'POST',
      headers: { cookie, origin: caddy.url, accept: 'application/json' },
      body: '',
    });
    t.is(api.status, 503);
    t.like(json(api), { decision: 'error', reason: 'store_unavailable' });
    t.deepEqual(await seenUpstream(flower, m), []);
  },
);
