// /_flowergate/whoami and /_flowergate/sign_in against real Django sessions, and sign_in behind a real nginx
// configured as ingress-nginx with `auth-signin: <flowergate>/_flowergate/sign_in` (the redirect parameter
// left at ingress-nginx's default, `rd`).

import {
  djangoTool,
  type HttpResponse,
  request,
  shared,
  startDjangoSite,
  startFlowergate,
} from '../support/e2e.ts';
import { startFlowerUpstream } from '../support/flower-upstream.ts';
import { startNginx } from '../support/nginx.ts';
import { toolTest } from '../support/require-tool.ts';

const maybe = await toolTest(djangoTool());
const maybeNginx = await toolTest('nginx', 'nginx-set-misc', 'tornado', djangoTool());

const setup = shared(async (t) => {
  const site = await startDjangoSite({ t });
  const fg = await startFlowergate({ site, t });
  return { site, fg };
});

const json = (res: HttpResponse) => JSON.parse(res.body) as Record<string, unknown>;

maybe('whoami tells a superuser who they are and that they would be allowed, without secrets', async (t) => {
  const { site, fg } = await setup();
  const login = await site.login('root');
  const res = await request(`${fg.url}/_flowergate/whoami`, { headers: { cookie: login.cookie } });
  t.is(res.status, 200);
  t.is(res.headers['cache-control'], 'no-store');
  t.deepEqual(json(res), {
    authenticated: true,
    user: {
      kind: 'django',
      id: '1',
      username: 'root',
      email: 'root@example.com',
      isSuperuser: true,
      isStaff: true,
      isActive: true,
      groups: ['flower-admins', 'ops'],
    },
    request: { method: 'GET', path: '/', client: '127.0.0.1' },
    allowed: true,
    decision: 'allow',
    reason: 'ok',
    rule: 'staff may look',
    require: 'staff',
  });
  for (const secret of [login.sessionid, site.secretKey, 'pbkdf2', 'sha256$']) {
    t.false(res.body.includes(secret), `whoami must not show ${secret.slice(0, 8)}…`);
  }
});

maybe(
  'whoami answers for another method and path: staff would be refused a shutdown by the default rule',
  async (t) => {
    const { site, fg } = await setup();
    const res = await request(
      `${fg.url}/_flowergate/whoami?method=POST&path=${encodeURIComponent('/api/worker/shutdown/w1@host')}`,
      { headers: { cookie: await site.cookie('staff') } },
    );
    t.like(json(res), {
      authenticated: true,
      user: { username: 'staff', isSuperuser: false, isStaff: true },
      request: { method: 'POST', path: '/api/worker/shutdown/w1@host' },
      allowed: false,
      decision: 'forbidden',
      reason: 'not_superuser',
      rule: 'default',
      require: 'superuser',
    });
  },
);

maybe(
  'whoami for an anonymous caller, a garbage cookie and a logged-out session: not authenticated, and why',
  async (t) => {
    const { site, fg } = await setup();
    const whoami = async (cookie?: string) =>
      json(await request(`${fg.url}/_flowergate/whoami`, { headers: cookie ? { cookie } : {} }));
    t.like(await whoami(), {
      authenticated: false,
      user: null,
      allowed: false,
      decision: 'unauthenticated',
      reason: 'no_cookie',
    });
    t.like(await whoami('sessionid=short'), { authenticated: false, reason: 'invalid_session_key' });
    t.like(await whoami('sessionid=0123456789abcdefghijklmnopqrstuv'), {
      authenticated: false,
      reason: 'no_session',
    });
    const login = await site.login('staff');
    t.like(await whoami(login.cookie), { authenticated: true });
    await request(`${site.url}/accounts/logout/`, { headers: { cookie: login.cookie } });
    t.like(await whoami(login.cookie), { authenticated: false, reason: 'no_session' });
    t.like(
      json(await request(`${fg.url}/_flowergate/whoami?path=/healthcheck`)),
      { authenticated: false, allowed: true, reason: 'public', rule: 'health check for probes' },
      'a public path is allowed without a session',
    );
  },
);

maybe('sign_in sends the browser to the Django login with a checked next', async (t) => {
  const { site, fg } = await setup();
  const signIn = async (rd: string | null) => {
    const query = rd === null ? '' : `?rd=${encodeURIComponent(rd)}`;
    const res = await request(`${fg.url}/_flowergate/sign_in${query}`);
    t.is(res.status, 302, String(rd));
    t.is(res.headers['cache-control'], 'no-store');
    return String(res.headers.location);
  };
  const withNext = (next: string) => `${site.loginUrl}?next=${encodeURIComponent(next)}`;
  // good: this host (any port: the Flower ingress and flowergate share it), or a path on it
  const flowerPage = 'http://127.0.0.1:8443/tasks?state=FAILURE';
  t.is(await signIn(flowerPage), withNext(flowerPage));
  // a path is on this host, the one the browser came from: Django must not resolve it against its own
  t.is(await signIn('/tasks'), withNext(`${fg.url}/tasks`));
  t.is(await signIn(null), site.loginUrl);
  // evil: every one of these is dropped, and the login keeps its own default
  for (const evil of [
    'http://evil.example/',
    'https://evil.example/tasks',
    '//evil.example/',
    '///evil.example/',
    '/\\evil.example',
    '\\\\evil.example',
    '%2F%2Fevil.example',
    '/%2F/evil.example',
    'javascript:alert(document.cookie)',
    'data:text/html,<script>alert(1)</script>',
    'http://127.0.0.1@evil.example/',
    'http://evil.example\\@127.0.0.1/',
    'http://127.0.0.1.evil.example/',
    'http:evil.example',
    ' //evil.example',
    'http://evil.example%00.127.0.0.1/',
  ]) {
    t.is(await signIn(evil), site.loginUrl, evil);
  }
});

maybe(
  "sign_in only ever redirects to the login, whatever Host says; Django refuses a next on a host it doesn't serve",
  async (t) => {
    const { site, fg } = await setup();
    const rd = `?rd=${encodeURIComponent('http://evil.example/x')}`;
    // X-Forwarded-Host is not read: the rd is judged against the Host the browser used
    const forwarded = await request(`${fg.url}/_flowergate/sign_in${rd}`, {
      headers: { 'x-forwarded-host': 'evil.example' },
    });
    t.is(forwarded.headers.location, site.loginUrl);
    // Host: evil.example (DNS for evil.example pointed at the gate): the rd names that host, so it is passed on as
    // next, but the redirect itself goes to the login only, and Django's LoginView will not follow it.
    const hosted = await request(`${fg.url}/_flowergate/sign_in${rd}`, { headers: { host: 'evil.example' } });
    const location = new URL(String(hosted.headers.location));
    t.is(`${location.origin}${location.pathname}`, site.loginUrl);
    const login = await site.login('root', { next: location.searchParams.get('next') ?? '' });
    t.is(login.location, '/');
  },
);

maybe('sign_in without FLOWERGATE_DJANGO_LOGIN_URL is a 404 that says so', async (t) => {
  const { site } = await setup();
  const fg = await startFlowergate({ site: null, env: site.flowergateEnv, t });
  const res = await request(`${fg.url}/_flowergate/sign_in?rd=/tasks`);
  t.is(res.status, 404);
  t.regex(res.body, /FLOWERGATE_DJANGO_LOGIN_URL is not set/);
});

maybeNginx(
  'ingress-nginx auth-signin → flowergate sign_in → Django login → back; Host: evil.example loses its rd',
  async (t) => {
    const { site, fg } = await setup();
    const flower = await startFlowerUpstream({ t });
    const nginx = await startNginx({
      authUrl: `${fg.url}/_flowergate/auth/nginx`,
      upstream: flower.url,
      signinUrl: `${fg.url}/_flowergate/sign_in`,
      signinRedirectParam: 'rd',
      t,
    });
    const original = `${nginx.url}/tasks?state=FAILURE`;
    const first = await request(original, { headers: { accept: 'text/html' } });
    t.is(first.status, 302);
    const signIn = new URL(String(first.headers.location));
    t.is(`${signIn.origin}${signIn.pathname}`, `${fg.url}/_flowergate/sign_in`);
    t.is(signIn.searchParams.get('rd'), original);
    const second = await request(signIn.href);
    t.is(second.headers.location, `${site.loginUrl}?next=${encodeURIComponent(original)}`);
    const login = await site.login('root', { next: original });
    t.is(login.location, original);
    t.is((await request(login.location, { headers: { cookie: login.cookie } })).status, 200);

    // nginx builds rd from the client's Host; the browser then asks flowergate on the real host, which drops it
    const evil = await request(`${nginx.url}/tasks`, { headers: { host: 'evil.example' } });
    const evilSignIn = new URL(String(evil.headers.location));
    t.is(evilSignIn.searchParams.get('rd'), 'http://evil.example/tasks');
    t.is((await request(evilSignIn.href)).headers.location, site.loginUrl);
  },
);
