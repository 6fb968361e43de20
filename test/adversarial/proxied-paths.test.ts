// The path corpus through the real proxies: every hostile path, as staff, through ingress-nginx, the plain
// auth_request recipe, Caddy → /auth/forward, Caddy → /auth/nginx and the sidecar (topologies.ts, with the
// README's example policy under --url_prefix=flower). What reached Flower must be byte for byte what the client
// sent (so the path judged is the path routed), and Tornado must not route any of it to a handler that acts.
// The honest requests must reach Flower through every topology.

import { djangoTool, type HttpResponse, request, shared } from '../support/e2e.ts';
import { realFlowerTool } from '../support/real-flower.ts';
import { toolTest } from '../support/require-tool.ts';
import { PREFIX } from './attacks.ts';
import { HONEST, hostilePaths } from './path-corpus.ts';
import { startTopologies, type Topology } from './topologies.ts';
import { routeInFlower, runsAnAction } from './tornado-oracle.ts';

const maybe = await toolTest('nginx', 'nginx-set-misc', 'caddy', 'tornado', realFlowerTool, djangoTool());

const setup = shared(startTopologies);
const TOPOLOGIES: readonly Topology['name'][] = [
  'ingress-nginx',
  'nginx auth_request',
  'Caddy → /auth/forward',
  'Caddy → /auth/nginx',
  'sidecar',
];

let ids = 0;

for (const name of TOPOLOGIES) {
  maybe(
    `${name}: no hostile path lets staff run a Flower action, and Flower gets the path as judged`,
    async (t) => {
      const { site, flower, topologies } = await setup();
      const topology = topologies.find((tp) => tp.name === name)!;
      const cookies = { staff: await site.cookie('staff'), root: await site.cookie('root') };
      const send = (user: 'staff' | 'root', method: string, target: string) => {
        const id = `proxied-${TOPOLOGIES.indexOf(name)}-${++ids}`;
        const res: Promise<HttpResponse> = request(`${topology.url}/`, {
          method,
          target,
          headers: {
            cookie: cookies[user],
            origin: topology.url,
            accept: 'application/json',
            'x-attack-id': id,
          },
          ...(method === 'POST' ? { body: '' } : {}),
        });
        return res.then((r) => ({ id, status: r.status }));
      };

      const honest = [];
      for (const h of HONEST) honest.push({ h, ...(await send(h.user, h.method, `${PREFIX}${h.path}`)) });
      const corpus = hostilePaths('flower').flatMap((c) =>
        ['GET', 'POST'].map((method) => ({ ...c, method })),
      );
      const sent = [];
      // a few at a time: nginx and Caddy share two cores with everything else
      for (let i = 0; i < corpus.length; i += 8) {
        const batch = corpus.slice(i, i + 8);
        sent.push(
          ...(await Promise.all(batch.map(async (c) => ({ c, ...(await send('staff', c.method, c.uri)) })))),
        );
      }

      const received = new Map((await flower.requests()).map((r) => [r.headers['x-attack-id'], r]));
      for (const { h, id, status } of honest) {
        t.is(
          received.get(id)?.uri,
          `${PREFIX}${h.path}`,
          `honest ${h.user} ${h.method} ${h.path} (${status})`,
        );
      }
      const through = sent.flatMap((s) => {
        const seen = received.get(s.id);
        return seen ? [{ ...s, seen }] : [];
      });
      t.deepEqual(
        through.filter((s) => s.seen.uri !== s.c.uri).map((s) => `${s.c.method} ${s.c.uri} → ${s.seen.uri}`),
        [],
        'Flower received another path than the client sent',
      );
      const { routes } = await routeInFlower(
        'flower',
        through.map((s) => ({ method: s.seen.method, uri: s.seen.uri })),
      );
      t.deepEqual(
        routes.filter(runsAnAction).map((r) => `${r.method} ${r.uri} → ${r.handler}`),
        [],
        'staff requests that reached Flower and run an action there',
      );
      t.log(`${corpus.length} hostile requests: ${through.length} reached Flower (none acts)`);
    },
  );
}

/** Request-target forms other than a path (RFC 9112 §3.2): absolute-form, as to a forward proxy, and `*`. */
const OTHER_FORMS = (own: string) => [
  `${own}${PREFIX}/api/task/revoke/x`,
  `http://evil.example${PREFIX}/api/task/revoke/x`,
  `http://127.0.0.1${PREFIX}/api/task/revoke/x/../../../../tasks/datatable`,
  `http://127.0.0.1${PREFIX}/api/task/revoke/x/%2e%2e/%2e%2e/%2e%2e/%2e%2e/tasks/datatable`,
  '*',
];

maybe('absolute-form and asterisk-form targets from staff never run a Flower action', async (t) => {
  const { site, flower, topologies } = await setup();
  const cookie = await site.cookie('staff');
  const reached: { method: string; uri: string }[] = [];
  for (const topology of topologies) {
    for (const target of OTHER_FORMS(topology.url)) {
      const id = `form-${++ids}`;
      await request(`${topology.url}/`, {
        method: 'POST',
        target,
        body: '',
        headers: { cookie, origin: topology.url, accept: 'application/json', 'x-attack-id': id },
      });
      for (const seen of (await flower.requests()).filter((r) => r.headers['x-attack-id'] === id)) {
        reached.push({ method: seen.method, uri: seen.uri });
      }
    }
  }
  // nginx turns an absolute-form target into its path and judges that path; the others refuse them
  const { routes } = await routeInFlower('flower', reached);
  t.deepEqual(
    routes.filter(runsAnAction).map((r) => `${r.method} ${r.uri} → ${r.handler}`),
    [],
  );
  // the honest twin: the same staff session may POST the tasks table feed in absolute form through nginx
  const ingress = topologies.find((tp) => tp.name === 'ingress-nginx')!;
  const id = `form-${++ids}`;
  const honest = await request(`${ingress.url}/`, {
    method: 'POST',
    target: `${ingress.url}${PREFIX}/tasks/datatable`,
    body: '',
    headers: { cookie, origin: ingress.url, accept: 'application/json', 'x-attack-id': id },
  });
  t.is(honest.status, 200);
  t.like(
    (await flower.requests()).find((r) => r.headers['x-attack-id'] === id),
    {
      method: 'POST',
      uri: `${PREFIX}/tasks/datatable`,
    },
  );
});
