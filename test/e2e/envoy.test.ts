// The Envoy ext_authz HTTP dialect, end to end against real Django sessions. There is no Envoy binary for this
// machine, so these tests send flowergate exactly what Envoy's HTTP ext_authz client sends
// (envoyproxy/envoy source/extensions/filters/common/ext_authz/ext_authz_http_impl.cc, research/forward-auth.md
// §4) with `path_prefix: /_flowergate/auth/envoy`:
//   - the client's own method (POST stays POST) and the client's path and query behind the prefix;
//   - `Host` (the :authority the client asked for), `Content-Length: 0` and no body;
//   - `Authorization`, and otherwise only the headers listed in `allowed_headers` (Envoy Gateway
//     `headersToExtAuth`, Istio `includeRequestHeadersInCheck`): the set sent here is the list in the
//     README's own recipe, read from it, so a header the recipe forgets is a header these tests lose.
// Envoy then needs exactly 200 to allow, passes a denial's status, body, Location and WWW-Authenticate to the
// client, and treats a 5xx as an error (status_on_error, 403 by default).

import { join } from 'node:path';
import {
  djangoTool,
  type HttpResponse,
  request,
  shared,
  startDjangoSite,
  startFlowergate,
} from '../support/e2e.ts';
import { readmeRecipe } from '../support/hygiene-recipes.ts';
import { makeTempDir, removeDir } from '../support/processes.ts';
import { toolTest } from '../support/require-tool.ts';

const maybe = await toolTest(djangoTool());

const PREFIX = '/_flowergate/auth/envoy';
const HOST = 'flower.example.com';
const ORIGIN = `https://${HOST}`;
const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
/** The README Envoy Gateway recipe's `headersToExtAuth` list. */
const ALLOWED: ReadonlySet<string> = new Set(
  (/headersToExtAuth: \[([^\]]*)\]/.exec(readmeRecipe('envoy-gateway'))?.[1] ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== ''),
);

const setup = shared(async (t) => {
  const site = await startDjangoSite({ t });
  // As Django's ALLOWED_HOSTS: the Flower host, so the login's `next` may name it.
  const fg = await startFlowergate({ site, env: { FLOWERGATE_ALLOWED_HOSTS: HOST }, t });
  return { site, fg };
});

/**
 * What Envoy sends for a client request `method path` with `clientHeaders`: only the allowed ones survive,
 * and Envoy's HCM has set x-forwarded-proto (TLS terminated at the gateway).
 */
function extAuthz(
  base: string,
  method: string,
  path: string,
  clientHeaders: Record<string, string> = {},
  allowed: ReadonlySet<string> = ALLOWED,
): Promise<HttpResponse> {
  const headers: Record<string, string> = { host: HOST, 'content-length': '0' };
  for (const [name, value] of Object.entries({ 'x-forwarded-proto': 'https', ...clientHeaders })) {
    if (allowed.has(name) || name === 'authorization') headers[name] = value;
  }
  // The raw target, as Envoy sends it (a URL() would resolve dot segments first).
  return request(base, { method, headers, target: `${PREFIX}${path}` });
}

maybe(
  "Envoy dialect: a superuser's session is exactly 200 with the identity headers for the upstream",
  async (t) => {
    const { site, fg } = await setup();
    const res = await extAuthz(fg.url, 'GET', '/workers?refresh=1', {
      cookie: `csrftoken=x; ${await site.cookie('root')}`,
      accept: HTML,
      'x-auth-request-user': 'mallory', // a client copy: Envoy does not even send it (not in allowed_headers)
    });
    t.is(res.status, 200);
    t.is(res.body, '');
    t.like(res.headers, {
      'x-auth-request-user': 'root',
      'x-auth-request-email': 'root@example.com',
      'x-auth-request-groups': 'flower-admins,ops',
    });
  },
);

maybe(
  'Envoy dialect: the original method is checked, so staff POST /api/worker/shutdown/x is 403',
  async (t) => {
    const { site, fg } = await setup();
    const action = '/api/worker/shutdown/w1@host';
    const staff = await extAuthz(fg.url, 'POST', action, {
      cookie: await site.cookie('staff'),
      origin: ORIGIN,
      'x-requested-with': 'XMLHttpRequest',
      accept: 'application/json',
    });
    t.is(staff.status, 403);
    t.like(JSON.parse(staff.body), { decision: 'forbidden', reason: 'not_superuser', rule: 'default' });
    const look = await extAuthz(fg.url, 'GET', '/workers', { cookie: await site.cookie('staff') });
    t.is(look.status, 200, 'staff may look');
    const root = await extAuthz(fg.url, 'POST', action, {
      cookie: await site.cookie('root'),
      origin: ORIGIN,
    });
    t.is(root.status, 200, 'a superuser may act from the same origin');
    const forged = await extAuthz(fg.url, 'POST', action, {
      cookie: await site.cookie('root'),
      origin: 'https://evil.example',
    });
    t.is(forged.status, 403, 'but not from another origin');
    t.like(JSON.parse(forged.body), { reason: 'csrf_origin_mismatch' });
  },
);

maybe(
  'Envoy dialect: a browser navigation without a session is a 302 to the login with next = https://<host><path>',
  async (t) => {
    const { site, fg } = await setup();
    const res = await extAuthz(fg.url, 'GET', '/tasks?state=FAILURE&limit=5', { accept: HTML });
    t.is(res.status, 302);
    const location = new URL(String(res.headers.location));
    t.is(`${location.origin}${location.pathname}`, site.loginUrl);
    t.is(location.searchParams.get('next'), `${ORIGIN}/tasks?state=FAILURE&limit=5`);
  },
);

maybe(
  'Envoy dialect: XHR gets 401 JSON and an unsafe method without a session is never redirected',
  async (t) => {
    const { fg } = await setup();
    const xhr = await extAuthz(fg.url, 'GET', '/api/workers', {
      'x-requested-with': 'XMLHttpRequest',
      accept: HTML,
    });
    t.is(xhr.status, 401);
    t.is(xhr.headers.location, undefined);
    t.like(JSON.parse(xhr.body), { decision: 'unauthenticated', reason: 'no_cookie' });
    const post = await extAuthz(fg.url, 'POST', '/api/task/revoke/abc', { accept: HTML, origin: ORIGIN });
    t.is(post.status, 401);
    t.is(post.headers.location, undefined);
  },
);

maybe("Envoy dialect: a refused user's browser gets the 403 page naming the user and the rule", async (t) => {
  const { site, fg } = await setup();
  const res = await extAuthz(fg.url, 'GET', '/', { cookie: await site.cookie('plain'), accept: HTML });
  t.is(res.status, 403);
  t.regex(res.body, /signed in as <strong>plain<\/strong>/);
  t.regex(res.body, /rule <code>staff may look<\/code>/);
});

maybe(
  'Envoy dialect: without cookie in allowed_headers (Envoy default) even a superuser is unauthenticated',
  async (t) => {
    const { site, fg } = await setup();
    const res = await extAuthz(
      fg.url,
      'GET',
      '/workers',
      { cookie: await site.cookie('root'), accept: 'application/json' },
      new Set(), // Envoy's default: Host, method, path, Content-Length, Authorization only
    );
    t.is(res.status, 401);
    t.like(JSON.parse(res.body), { reason: 'no_cookie' });
  },
);

maybe(
  'Envoy dialect: a spelling trick in the path is refused 400 before any rule, for staff and superuser alike',
  async (t) => {
    const { site, fg } = await setup();
    for (const user of ['staff', 'root'] as const) {
      const cookie = await site.cookie(user);
      for (const path of [
        '/./api/worker/shutdown/w1@host',
        '//api/worker/shutdown/w1@host',
        '/tasks/../api/worker/shutdown/w1@host',
        '/tasks/%2e%2e/api/worker/shutdown/w1@host',
        '/%61pi/worker/shutdown/w1@host',
        '/api%2Fworker%2Fshutdown%2Fw1@host',
      ]) {
        const res = await extAuthz(fg.url, 'POST', path, { cookie, origin: ORIGIN });
        t.is(res.status, 400, `${user} ${path}`);
        t.like(JSON.parse(res.body), { reason: 'ambiguous_path' });
      }
    }
    // The honest twins: the plain spelling is judged by the rules.
    const staff = await extAuthz(fg.url, 'POST', '/api/worker/shutdown/w1@host', {
      cookie: await site.cookie('staff'),
      origin: ORIGIN,
    });
    t.is(staff.status, 403);
    const root = await extAuthz(fg.url, 'POST', '/api/worker/shutdown/w1@host', {
      cookie: await site.cookie('root'),
      origin: ORIGIN,
    });
    t.is(root.status, 200);
  },
);

maybe(
  'Envoy dialect: a session store failure is 503 (Envoy answers status_on_error), never an allow',
  async (t) => {
    const { site } = await setup();
    const dir = makeTempDir('e2e-envoy-down');
    t.teardown(async () => removeDir(dir));
    const down = await startFlowergate({
      site,
      env: { FLOWERGATE_DJANGO_DATABASE_URL: `sqlite:///${join(dir, 'missing.sqlite3')}` },
      t,
    });
    const res = await extAuthz(down.url, 'GET', '/workers', {
      cookie: await site.cookie('root'),
      accept: HTML,
    });
    t.is(res.status, 503);
    t.regex(res.body, /503 Service Unavailable/);
  },
);

maybe(
  "Envoy dialect, the README's headersToExtAuth: a cross-site WebSocket handshake carrying the user's cookie is 403, a same-origin one passes",
  async (t) => {
    const { site, fg } = await setup();
    // What a browser sends for `new WebSocket('wss://flower…/…')` from another site's page: the user's
    // cookie, the attacker's Origin, and the handshake headers (Envoy passes them only when listed).
    const handshake = (origin: string, cookie: string) =>
      extAuthz(fg.url, 'GET', '/api/task/events/task-succeeded/', {
        cookie,
        origin,
        upgrade: 'websocket',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'sec-websocket-version': '13',
      });
    const root = await site.cookie('root');
    const hostile = await handshake('https://evil.example', root);
    t.is(hostile.status, 403, 'a handshake from another site is refused');
    t.like(JSON.parse(hostile.body), { reason: 'csrf_origin_mismatch' });
    const honest = await handshake(ORIGIN, root);
    t.is(honest.status, 200, "the page's own handshake passes");
  },
);
