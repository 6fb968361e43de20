// Spoofing, end to end through real nginx (ingress-nginx style) and real Caddy, with real Django sessions:
// every test sends a trick a client could try, and fails if the trick works.
//
// Client addresses: everything runs on loopback, so "another client" is another loopback address. Test clients
// connect from 127.0.0.66 (the office desk, which a `networks:` rule lets in without a login) or 127.0.0.77
// (anyone else); nginx and Caddy connect to flowergate from 127.0.0.1, which the "trusted" flowergate trusts.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startCaddy } from '../support/caddy.ts';
import {
  auditLines,
  djangoTool,
  EXAMPLE_RULES,
  type Flowergate,
  marker,
  request,
  seenUpstream,
  shared,
  startDjangoSite,
  startFlowergate,
} from '../support/e2e.ts';
import { startFlowerUpstream } from '../support/flower-upstream.ts';
import { startNginx } from '../support/nginx.ts';
import { toolTest } from '../support/require-tool.ts';

const maybe = await toolTest('nginx', 'nginx-set-misc', 'caddy', 'tornado', djangoTool());

const OFFICE = '127.0.0.66';
const STRANGER = '127.0.0.77';
const OFFICE_RULE = { name: 'office desk needs no login', networks: [`${OFFICE}/32`], require: 'public' };
const HTML = 'text/html,application/xhtml+xml,*/*;q=0.8';
/** Caddy forward_auth believing a load balancer on loopback: it keeps and appends to X-Forwarded-For. */
const APPEND = '\t\ttrusted_proxies 127.0.0.0/8';
const SPOOFED = {
  'X-Auth-Request-User': ['mallory', 'root'],
  'x-auth-request-email': 'mallory@evil.example',
  'X-AUTH-REQUEST-GROUPS': 'admins',
};

const setup = shared(async (t) => {
  const site = await startDjangoSite({ t });
  const flower = await startFlowerUpstream({ t });
  const rules = [OFFICE_RULE, ...EXAMPLE_RULES];
  // trusts no proxy (the default)
  const fg = await startFlowergate({ site, rules, t });
  // trusts the proxies on 127.0.0.1 (FLOWERGATE_TRUSTED_PROXIES)
  const fgTrusted = await startFlowergate({
    site,
    rules,
    env: { FLOWERGATE_TRUSTED_PROXIES: '127.0.0.1/32' },
    t,
  });
  const nginxAuth = (gate: Flowergate) => `${gate.url}/_flowergate/auth/nginx`;
  const nginx = await startNginx({ authUrl: nginxAuth(fg), upstream: flower.url, t });
  const nginxSignin = await startNginx({
    authUrl: nginxAuth(fg),
    upstream: flower.url,
    signinUrl: site.loginUrl,
    t,
  });
  const nginxTrusted = await startNginx({ authUrl: nginxAuth(fgTrusted), upstream: flower.url, t });
  const caddy = await startCaddy({ auth: fg.address, upstream: flower.url, t });
  // a Caddy behind a load balancer on loopback: it believes and appends to X-Forwarded-For from 127.0.0.0/8
  const caddyAppending = await startCaddy({
    auth: fgTrusted.address,
    upstream: flower.url,
    snippets: { forwardAuth: APPEND },
    t,
  });
  return { site, flower, fg, fgTrusted, nginx, nginxSignin, nginxTrusted, caddy, caddyAppending };
});

/** The audit lines flowergate wrote for `method path` (the query, which carries the marker, is not logged). */
const auditFor = (gate: Flowergate, method: string, path: string) =>
  auditLines(gate).filter((line) => line.method === method && line.path === path);

maybe(
  'client-sent X-Auth-Request-User/-Email/-Groups never reach Flower as sent, through nginx and Caddy',
  async (t) => {
    const { site, flower, nginx, caddy } = await setup();
    const spoofed = new Set([
      'mallory',
      'root',
      'mallory, root',
      'mallory,root',
      'mallory@evil.example',
      'admins',
    ]);
    for (const [name, proxy] of [
      ['nginx', nginx],
      ['caddy', caddy],
    ] as const) {
      const staff = marker(`${name}-staff`);
      const res = await request(`${proxy.url}/workers?m=${staff}`, {
        headers: { ...SPOOFED, cookie: await site.cookie('staff') },
      });
      t.is(res.status, 200);
      const [seenStaff] = await seenUpstream(flower, staff);
      t.is(seenStaff?.headers['x-auth-request-user'], 'staff', name);
      t.is(seenStaff?.headers['x-auth-request-email'], 'staff@example.com', name);
      // staff has no groups: nginx drops the empty header, Caddy sends it empty
      t.is(seenStaff?.headers['x-auth-request-groups'] ?? '', '', name);

      // a public path: flowergate names nobody, so nobody is named upstream
      const anon = marker(`${name}-anon`);
      t.is((await request(`${proxy.url}/healthcheck?m=${anon}`, { headers: SPOOFED })).status, 200);
      const [seenAnon] = await seenUpstream(flower, anon);
      t.truthy(seenAnon);
      for (const header of ['x-auth-request-user', 'x-auth-request-email', 'x-auth-request-groups']) {
        t.is(seenAnon?.headers[header] ?? '', '', `${name} ${header}`);
      }
      for (const seen of [seenStaff, seenAnon]) {
        for (const [header, value] of seen?.rawHeaders ?? []) {
          if (/^x-auth-request-/i.test(header)) t.false(spoofed.has(value), `${name}: ${header}: ${value}`);
        }
      }
    }
  },
);

maybe(
  "a client-sent X-Original-URL/-Method (or X-Forwarded-Uri/-Method) doesn't change nginx's decision",
  async (t) => {
    const { site, flower, fg, nginx } = await setup();
    const m = marker('original');
    // nginx overwrites the client's X-Original-URL/-Method with the real ones.
    const anon = await request(`${nginx.url}/workers?m=${m}`, {
      headers: { 'x-original-url': `${nginx.url}/healthcheck`, 'x-original-method': 'GET' },
    });
    t.is(anon.status, 401, 'still the protected page, still no session');
    const staff = await request(`${nginx.url}/api/worker/shutdown/w1@host?m=${m}`, {
      method: 'POST',
      headers: {
        cookie: await site.cookie('staff'),
        origin: nginx.url,
        'x-original-url': `${nginx.url}/workers`,
        'x-original-method': 'GET',
      },
      body: '',
    });
    t.is(staff.status, 403, 'still a POST to shutdown');
    // The other family's copy passes through nginx untouched: naming another path or method, it is refused
    // (flowergate's 400, which nginx's auth_request answers as 500), never believed.
    const forgeries: Record<string, string>[] = [
      { 'x-forwarded-uri': '/healthcheck', 'x-forwarded-host': '127.0.0.1' },
      { 'x-forwarded-method': 'GET' },
    ];
    for (const forged of forgeries) {
      const res = await request(`${nginx.url}/api/worker/shutdown/w1@host?m=${m}`, {
        method: 'POST',
        headers: { cookie: await site.cookie('root'), origin: nginx.url, ...forged },
        body: '',
      });
      t.is(res.status, 500, JSON.stringify(forged));
    }
    t.deepEqual(await seenUpstream(flower, m), []);
    t.true(
      auditLines(fg).some((line) => line.reason === 'bad_request' && line.dialect === 'nginx'),
      'the refusal is audited',
    );
    // The honest twin: the superuser's own POST, without forged headers, goes through.
    const honest = marker('original-honest');
    const done = await request(`${nginx.url}/api/worker/shutdown/w1@host?m=${honest}`, {
      method: 'POST',
      headers: { cookie: await site.cookie('root'), origin: nginx.url },
      body: '',
    });
    t.not(done.status, 500);
    t.is((await seenUpstream(flower, honest)).length, 1);
  },
);

maybe("a client-sent X-Forwarded-Method/-Uri/-Host doesn't change Caddy's decision", async (t) => {
  const { site, flower, caddy } = await setup();
  const m = marker('forwarded');
  const anon = await request(`${caddy.url}/workers?m=${m}`, {
    headers: { 'x-forwarded-uri': '/healthcheck', 'x-forwarded-method': 'GET', accept: 'application/json' },
  });
  t.is(anon.status, 401);
  const staff = await request(`${caddy.url}/api/worker/shutdown/w1@host?m=${m}`, {
    method: 'POST',
    headers: {
      cookie: await site.cookie('staff'),
      origin: caddy.url,
      'x-forwarded-method': 'GET',
      'x-forwarded-uri': '/workers',
    },
    body: '',
  });
  t.is(staff.status, 403);
  t.deepEqual(await seenUpstream(flower, m), []);
});

maybe(
  'with no trusted proxy a client-sent X-Forwarded-For is ignored: the peer address decides',
  async (t) => {
    const { fg, caddy } = await setup();
    const check = (from: string, xff?: string) =>
      request(`${fg.url}/_flowergate/auth/forward`, {
        localAddress: from,
        headers: {
          'x-forwarded-method': 'GET',
          'x-forwarded-host': 'flower.example.com',
          'x-forwarded-uri': '/workers',
          ...(xff ? { 'x-forwarded-for': xff } : {}),
        },
      });
    t.is((await check(OFFICE)).status, 200, 'control: the office desk itself is let in by its networks rule');
    t.is((await check(STRANGER, OFFICE)).status, 401, 'X-Forwarded-For: <office> from elsewhere');
    t.is((await check(STRANGER, `${OFFICE}, ${OFFICE}`)).status, 401);
    // behind Caddy, untrusted: flowergate sees Caddy (127.0.0.1), not the office desk behind it
    const viaCaddy = await request(`${caddy.url}/workers`, {
      localAddress: OFFICE,
      headers: { accept: '*/*' },
    });
    t.is(viaCaddy.status, 401);
  },
);

maybe(
  'through nginx (X-Forwarded-For = $remote_addr) to a flowergate that trusts nginx, the real client counts',
  async (t) => {
    const { flower, fgTrusted, nginxTrusted } = await setup();
    const office = marker('nginx-office');
    const fromOffice = await request(`${nginxTrusted.url}/workers?m=${office}`, { localAddress: OFFICE });
    t.is(fromOffice.status, 200, 'control: nginx said 127.0.0.66 and flowergate believed it');
    t.is((await seenUpstream(flower, office)).length, 1);
    const m = marker('nginx-spoof');
    const spoof = await request(`${nginxTrusted.url}/tasks?m=${m}`, {
      localAddress: STRANGER,
      headers: { 'x-forwarded-for': OFFICE, 'x-real-ip': OFFICE },
    });
    t.is(spoof.status, 401);
    t.deepEqual(await seenUpstream(flower, m), []);
    t.deepEqual(
      auditFor(fgTrusted, 'GET', '/tasks').map((line) => line.client),
      [STRANGER],
    );
  },
);

maybe(
  'through a proxy that appends to X-Forwarded-For, only the rightmost untrusted hop counts',
  async (t) => {
    const { flower, fgTrusted, caddyAppending } = await setup();
    const office = marker('append-office');
    t.is(
      (await request(`${caddyAppending.url}/workers?m=${office}`, { localAddress: OFFICE })).status,
      200,
      'control: the office desk, one hop behind Caddy',
    );
    for (const xff of [OFFICE, `${OFFICE}, 127.0.0.1`, `203.0.113.9, ${OFFICE}`]) {
      const m = marker('append-spoof');
      const res = await request(`${caddyAppending.url}/broker?m=${m}`, {
        localAddress: STRANGER,
        headers: { 'x-forwarded-for': xff, accept: 'application/json' },
      });
      t.is(res.status, 401, `X-Forwarded-For: ${xff}`);
      t.deepEqual(await seenUpstream(flower, m), []);
    }
    t.deepEqual(
      [...new Set(auditFor(fgTrusted, 'GET', '/broker').map((line) => line.client))],
      [STRANGER],
      'flowergate resolved every one of them to the stranger',
    );

    // The same Caddy configuration in front of a recorder shows the chain flowergate was sent: the client's claim
    // on the left, the address Caddy saw on the right. Taking the leftmost entry would have let the stranger in.
    const seen: (string | string[] | undefined)[] = [];
    const recorder = http.createServer((req, res) => {
      seen.push(req.headers['x-forwarded-for']);
      res.writeHead(401, { 'content-length': '0' }).end();
    });
    await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => recorder.close(() => resolve())));
    const tap = await startCaddy({
      auth: `127.0.0.1:${(recorder.address() as AddressInfo).port}`,
      upstream: flower.url,
      snippets: { forwardAuth: APPEND },
      t,
    });
    await request(`${tap.url}/broker`, { localAddress: STRANGER, headers: { 'x-forwarded-for': OFFICE } });
    t.deepEqual(seen, [`${OFFICE}, ${STRANGER}`]);
  },
);

maybe(
  'with trusted proxies flowergate walks X-Forwarded-For from the right to the first untrusted hop',
  async (t) => {
    const { fgTrusted } = await setup();
    // flowergate's peer here is this test on 127.0.0.1, i.e. a trusted proxy reporting these chains
    const table: [string, number][] = [
      [OFFICE, 200],
      [`203.0.113.9, ${OFFICE}`, 200], // the office desk, whatever it claimed before
      [`${OFFICE}, 127.0.0.1`, 200], // a trusted hop on the right is skipped
      [`${OFFICE}, 203.0.113.9`, 401], // the rightmost untrusted hop is 203.0.113.9, not the office
      [`${OFFICE}, ${STRANGER}`, 401],
      [`${OFFICE},, 127.0.0.1`, 401], // an empty hop stops the walk at the trusted proxy
    ];
    for (const [xff, status] of table) {
      const res = await request(`${fgTrusted.url}/_flowergate/auth/forward`, {
        headers: {
          'x-forwarded-method': 'GET',
          'x-forwarded-host': 'flower.example.com',
          'x-forwarded-uri': '/workers',
          'x-forwarded-for': xff,
        },
      });
      t.is(res.status, status, `X-Forwarded-For: ${xff}`);
    }
  },
);

maybe(
  "Host: evil.example doesn't make an open redirect: the Location is Django's login, which won't go to evil",
  async (t) => {
    const { site, caddy, nginxSignin } = await setup();
    for (const [name, proxy] of [
      ['caddy', caddy],
      ['nginx', nginxSignin],
    ] as const) {
      const res = await request(`${proxy.url}/workers`, { headers: { host: 'evil.example', accept: HTML } });
      t.is(res.status, 302, name);
      const location = new URL(String(res.headers.location));
      t.is(
        `${location.origin}${location.pathname}`,
        site.loginUrl,
        `${name}: the redirect goes to the login only`,
      );
      // Django, given that next, sends the user to its own LOGIN_REDIRECT_URL instead
      const login = await site.login('root', { next: location.searchParams.get('next') ?? '' });
      t.is(login.location, '/', `${name}: Django refused next=${location.searchParams.get('next')}`);
    }
  },
);

maybe(
  'a client-sent X-Forwarded-Host (plain, with a path, with @) is replaced by Caddy: next stays on this host',
  async (t) => {
    const { caddy } = await setup();
    for (const xfh of [
      'evil.example',
      'evil.example/next',
      `127.0.0.1:${caddy.port}@evil.example`,
      'evil.example\\',
    ]) {
      const res = await request(`${caddy.url}/workers`, {
        headers: { 'x-forwarded-host': xfh, accept: HTML },
      });
      t.is(res.status, 302, xfh);
      const next = new URL(new URL(String(res.headers.location)).searchParams.get('next') ?? 'x:');
      t.is(next.host, `127.0.0.1:${caddy.port}`, xfh);
      t.notRegex(String(res.headers.location), /evil/, xfh);
    }
  },
);

maybe(
  'where a proxy passes X-Forwarded-Host on, a host with a path, @ or backslash is refused, never redirected to',
  async (t) => {
    const { fg } = await setup();
    for (const xfh of [
      'evil.example/next',
      'flower.example.com@evil.example',
      'flower.example.com:443@evil.example',
      'evil.example\\flower.example.com',
      'flower.example.com/@evil.example',
      'evil.example%2f',
      'evil.example flower.example.com',
    ]) {
      const res = await request(`${fg.url}/_flowergate/auth/forward`, {
        headers: {
          'x-forwarded-method': 'GET',
          'x-forwarded-host': xfh,
          'x-forwarded-uri': '/workers',
          accept: HTML,
        },
      });
      t.is(res.status, 400, xfh);
      t.is(res.headers.location, undefined, xfh);
      t.like(JSON.parse(res.body), { reason: 'bad_request' });
    }
  },
);

maybe(
  'a scheme-relative or backslash path is not a way off the host: it is refused, and nothing redirects',
  async (t) => {
    const { caddy } = await setup();
    for (const path of [
      '//evil.example/workers',
      '/%5Cevil.example/workers',
      '/%2F%2Fevil.example/workers',
    ]) {
      const res = await request(`${caddy.url}${path}`, { headers: { accept: HTML } });
      t.is(res.status, 400, path);
      t.is(res.headers.location, undefined, path);
      t.like(JSON.parse(res.body), { reason: 'ambiguous_path' }, path);
    }
    // The honest twin: the plain path is sent to the login with next on this host.
    const plain = await request(`${caddy.url}/workers`, { headers: { accept: HTML } });
    t.is(plain.status, 302);
    const next = new URL(new URL(String(plain.headers.location)).searchParams.get('next') ?? 'x:');
    t.is(next.host, `127.0.0.1:${caddy.port}`);
  },
);
