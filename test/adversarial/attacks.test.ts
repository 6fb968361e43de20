// Issue 14's attacks end to end, each with its honest twin, through every way flowergate is deployed
// (topologies.ts: ingress-nginx, a plain nginx auth_request recipe, Caddy → /auth/forward, Caddy → /auth/nginx,
// the sidecar). Real Django sessions; the Tornado Flower stand-in records what reached it.

import type { ExecutionContext } from 'ava';
import {
  type DjangoSite,
  djangoTool,
  type HttpResponse,
  marker,
  request,
  shared,
  startFlowergate,
} from '../support/e2e.ts';
import type { FlowerUpstream } from '../support/flower-upstream.ts';
import { toolTest } from '../support/require-tool.ts';
import { ATTACKS, type AttackRequest, PREFIX, statusSeen } from './attacks.ts';
import { rawRequest, websocketHandshake } from './raw-http.ts';
import { GATE_ENV, marked, startTopologies, type Topology } from './topologies.ts';

const maybe = await toolTest('nginx', 'nginx-set-misc', 'caddy', 'tornado', djangoTool());

const HTML = 'text/html,application/xhtml+xml,*/*;q=0.8';

const setup = shared(startTopologies);

/** Sends one attack request through a topology, marked so the upstream's record can be found. */
async function send(
  site: DjangoSite,
  topology: Topology,
  spec: AttackRequest,
  mark: string,
): Promise<HttpResponse> {
  const headers: Record<string, string> = {
    origin: topology.url,
    accept: 'application/json',
    'x-attack-id': mark,
    ...(spec.user ? { cookie: await site.cookie(spec.user) } : {}),
  };
  for (const [name, value] of Object.entries(spec.headers?.(topology.url) ?? {})) {
    delete headers[name.toLowerCase()];
    if (value !== null) headers[name.toLowerCase()] = value;
  }
  const body = spec.method === 'GET' || spec.method === 'HEAD' ? undefined : '';
  return request(`${topology.url}/`, { method: spec.method, headers, target: spec.target, body });
}

const reasonOf = (res: HttpResponse): string | undefined => {
  try {
    return (JSON.parse(res.body) as { reason?: string }).reason;
  } catch {
    return undefined;
  }
};

/** The refusal is one of `reasons` (status, and the JSON body's reason where the proxy shows it); nothing reached Flower. */
async function assertRefused(
  t: ExecutionContext,
  flower: FlowerUpstream,
  topology: Topology,
  res: HttpResponse,
  mark: string,
  reasons: readonly string[],
): Promise<void> {
  const statuses = reasons.map((reason) => statusSeen(topology.kind, reason));
  t.true(
    statuses.includes(res.status),
    `${topology.name}: status ${res.status}, expected one of ${statuses}`,
  );
  // nginx shows its own error page; Caddy passes flowergate's JSON through; the sidecar is flowergate
  if (topology.kind !== 'nginx') {
    const reason = reasonOf(res);
    t.true(reason !== undefined && reasons.includes(reason), `${topology.name}: reason ${reason}`);
  }
  t.deepEqual(await marked(flower, mark), [], `${topology.name}: nothing reached Flower`);
}

for (const attack of ATTACKS) {
  maybe(attack.title, async (t) => {
    const { site, flower, topologies } = await setup();
    for (const topology of topologies.filter((tp) => !attack.only || attack.only.includes(tp.kind))) {
      const bad = marker('hostile');
      await assertRefused(
        t,
        flower,
        topology,
        await send(site, topology, attack.hostile, bad),
        bad,
        attack.refusedAs,
      );
      const good = marker('honest');
      const res = await send(site, topology, attack.honest, good);
      const seen = await marked(flower, good);
      t.is(seen.length, 1, `${topology.name}: the honest twin reached Flower (status ${res.status})`);
      t.like(seen[0], { method: attack.honest.method, uri: attack.honest.target }, topology.name);
      t.true(res.status < 400, `${topology.name}: the honest twin got ${res.status}`);
    }
  });
}

// Flower answers the handshake of a path it has no WebSocket on with its page: a cross-site script cannot read
// it, but the cookie rode along. nginx's auth_request drops the hop-by-hop Upgrade from the sub-request but
// passes Sec-WebSocket-Key and Origin, which is how flowergate behind nginx sees a handshake.
maybe(
  'a cross-site WebSocket handshake with a session is refused 403; a same-origin one is proxied',
  async (t) => {
    const { site, flower, topologies } = await setup();
    const cookie = await site.cookie('root');
    for (const topology of topologies) {
      const bad = marker('ws-hostile');
      const hostile = await rawRequest(
        topology.url,
        websocketHandshake(topology.url, `${PREFIX}/ws/echo`, {
          Origin: 'http://evil.example',
          Cookie: cookie,
          'X-Attack-Id': bad,
        }),
      );
      hostile.socket.destroy();
      t.is(hostile.status, 403, `${topology.name}: cross-site handshake`);
      if (topology.kind !== 'nginx') {
        // nginx shows its own 403 page
        const reason = reasonOf({ status: hostile.status, headers: {}, body: hostile.body });
        t.is(reason, 'csrf_origin_mismatch', topology.name);
      }
      t.deepEqual(await marked(flower, bad), [], `${topology.name}: nothing reached Flower`);

      const good = marker('ws-honest');
      const honest = await rawRequest(
        topology.url,
        websocketHandshake(topology.url, `${PREFIX}/ws/echo`, {
          Origin: topology.url,
          Cookie: cookie,
          'X-Attack-Id': good,
        }),
      );
      honest.socket.destroy();
      t.is(honest.status, 101, `${topology.name}: same-origin handshake`);
      t.is((await marked(flower, good)).length, 1, `${topology.name}: the honest handshake reached Flower`);
    }
  },
);

maybe(
  'X-Forwarded-Host: evil.example never puts evil.example in the login redirect; without it next is the page',
  async (t) => {
    const { site, topologies } = await setup();
    // The nginx endpoint never redirects (ingress-nginx's auth-signin does): Caddy pointed at it and the plain
    // auth_request recipe (no signin) show a bare 401.
    const redirecting = topologies.filter(
      (tp) => tp.name !== 'Caddy → /auth/nginx' && tp.name !== 'nginx auth_request',
    );
    for (const topology of redirecting) {
      const hostile = await request(`${topology.url}${PREFIX}/tasks`, {
        headers: { accept: HTML, 'x-forwarded-host': 'evil.example' },
      });
      t.true([302, 400].includes(hostile.status), `${topology.name}: ${hostile.status}`);
      t.notRegex(String(hostile.headers.location ?? ''), /evil/, topology.name);
      if (hostile.status === 400) t.is(reasonOf(hostile), 'disallowed_host', topology.name);

      const honest = await request(`${topology.url}${PREFIX}/tasks`, { headers: { accept: HTML } });
      t.is(honest.status, 302, topology.name);
      const location = new URL(String(honest.headers.location));
      t.is(`${location.origin}${location.pathname}`, site.loginUrl, topology.name);
      t.is(location.searchParams.get('next'), `${topology.url}${PREFIX}/tasks`, topology.name);
    }
  },
);

maybe(
  'a sidecar that trusts its ingress still refuses an X-Forwarded-Host outside FLOWERGATE_ALLOWED_HOSTS',
  async (t) => {
    const { site, flower } = await setup();
    const trusting = await startFlowergate({
      site,
      env: {
        ...GATE_ENV,
        FLOWERGATE_ALLOWED_HOSTS: '127.0.0.1,flower.example.com',
        FLOWERGATE_UPSTREAM: flower.url,
        FLOWERGATE_TRUSTED_PROXIES: '127.0.0.1/32',
      },
      t,
    });
    const hostile = await request(`${trusting.url}${PREFIX}/tasks`, {
      headers: { accept: HTML, 'x-forwarded-host': 'evil.example' },
    });
    t.is(hostile.status, 400);
    t.is(reasonOf(hostile), 'disallowed_host');
    t.is(hostile.headers.location, undefined);
    const honest = await request(`${trusting.url}${PREFIX}/tasks`, {
      headers: { accept: HTML, 'x-forwarded-host': 'flower.example.com', 'x-forwarded-proto': 'https' },
    });
    t.is(honest.status, 302);
    const next = new URL(String(honest.headers.location)).searchParams.get('next');
    t.is(next, `https://flower.example.com${PREFIX}/tasks`);
  },
);

/** What a misconfigured proxy sends: the sub-request lacks the method, or speaks another family. */
const SUBREQUESTS: ReadonlyArray<{
  title: string;
  endpoint: 'nginx' | 'forward';
  hostile: (own: string) => Record<string, string>;
  honest: (own: string) => Record<string, string>;
}> = [
  {
    title: 'nginx endpoint without X-Original-Method (a cross-site POST once judged as GET)',
    endpoint: 'nginx',
    hostile: (own) => ({
      'x-original-url': `${own}${PREFIX}/api/task/revoke/x`,
      origin: 'http://evil.example',
    }),
    honest: (own) => ({
      'x-original-url': `${own}${PREFIX}/api/task/revoke/x`,
      'x-original-method': 'POST',
      origin: own,
    }),
  },
  {
    title: 'nginx endpoint given only X-Original-URI (an old auth_request recipe)',
    endpoint: 'nginx',
    hostile: (own) => ({
      'x-original-uri': `${PREFIX}/api/task/revoke/x`,
      'x-original-method': 'POST',
      'x-forwarded-host': new URL(own).host,
      origin: own,
    }),
    honest: (own) => ({
      'x-original-url': `${own}${PREFIX}/api/task/revoke/x`,
      'x-original-method': 'POST',
      'x-original-uri': `${PREFIX}/api/task/revoke/x`,
      origin: own,
    }),
  },
  {
    title: 'forward endpoint without X-Forwarded-Method',
    endpoint: 'forward',
    hostile: (own) => ({
      'x-forwarded-host': new URL(own).host,
      'x-forwarded-proto': 'http',
      'x-forwarded-uri': `${PREFIX}/api/task/revoke/x`,
      origin: 'http://evil.example',
    }),
    honest: (own) => ({
      'x-forwarded-host': new URL(own).host,
      'x-forwarded-proto': 'http',
      'x-forwarded-uri': `${PREFIX}/api/task/revoke/x`,
      'x-forwarded-method': 'POST',
      origin: own,
    }),
  },
  {
    title: 'forward endpoint with an X-Original-URL naming another path',
    endpoint: 'forward',
    hostile: (own) => ({
      'x-forwarded-host': new URL(own).host,
      'x-forwarded-proto': 'http',
      'x-forwarded-uri': `${PREFIX}/api/task/revoke/x`,
      'x-forwarded-method': 'POST',
      'x-original-url': `${own}${PREFIX}/tasks`,
      'x-original-method': 'GET',
      origin: own,
    }),
    honest: (own) => ({
      'x-forwarded-host': new URL(own).host,
      'x-forwarded-proto': 'http',
      'x-forwarded-uri': `${PREFIX}/api/task/revoke/x`,
      'x-forwarded-method': 'POST',
      'x-original-url': `${own}${PREFIX}/api/task/revoke/x`,
      'x-original-method': 'POST',
      origin: own,
    }),
  },
];

for (const sub of SUBREQUESTS) {
  maybe(`a sub-request is refused 400 bad_request, never decided as a GET: ${sub.title}`, async (t) => {
    const { site, fg } = await setup();
    const own = 'http://127.0.0.1:8080';
    const cookie = await site.cookie('root');
    const endpoint = `${fg.url}/_flowergate/auth/${sub.endpoint}`;
    const hostile = await request(endpoint, { headers: { ...sub.hostile(own), cookie, accept: '*/*' } });
    t.is(hostile.status, 400);
    t.is(reasonOf(hostile), 'bad_request');
    const honest = await request(endpoint, { headers: { ...sub.honest(own), cookie, accept: '*/*' } });
    t.is(honest.status, 200, 'the complete family, honestly: the superuser may revoke');
  });
}
