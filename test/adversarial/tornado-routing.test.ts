// The path corpus against Tornado's own routing of Flower 2.1's URL table: every hostile path (path-corpus.ts)
// goes to a real flowergate (real Django sessions) through each endpoint a proxy would ask and through the
// sidecar; whatever a staff user is let through is then routed by Tornado (tornado-oracle.ts) exactly as it
// would reach Flower, and must never run a handler that acts. Refusing a path is always fine; the honest
// twins (HONEST) must pass, so a gate that refuses everything fails here.

import type { ExecutionContext } from 'ava';
import test from 'ava';
import type { PolicyRule } from '../../src/config/schema.ts';
import {
  djangoTool,
  type Flowergate,
  type HttpResponse,
  shared,
  startDjangoSite,
  startFlowergate,
} from '../support/e2e.ts';
import { type FlowerUpstream, startFlowerUpstream } from '../support/flower-upstream.ts';
import { realFlowerTool } from '../support/real-flower.ts';
import { toolTest } from '../support/require-tool.ts';
import { askGate, GATE_ROUTES, type GateRoute } from './ask-gate.ts';
import { HONEST, hostilePaths } from './path-corpus.ts';
import {
  ACTING_HANDLERS,
  type OracleRequest,
  type Route,
  routeInFlower,
  runsAnAction,
} from './tornado-oracle.ts';

const maybe = await toolTest('tornado', realFlowerTool, djangoTool());

/** "Staff may read, superuser may act", path by path: GET on Flower's read views, POST on its table feed. */
const READ_VIEWS: readonly PolicyRule[] = [
  { name: 'health check', methods: ['GET'], path: { exact: '/healthcheck' }, require: 'public' },
  {
    name: 'staff read views',
    methods: ['GET'],
    path: {
      regex:
        '^/(workers|worker/.+|task/.+|tasks|tasks/datatable|broker|api/workers|api/tasks|api/task/types|api/queues/length|api/task/info/.*|api/task/result/.+|metrics|static/.*)?$',
    },
    require: 'staff',
  },
  { name: 'tasks table feed', methods: ['POST'], path: { exact: '/tasks/datatable' }, require: 'staff' },
];

/** The shipped preset the corpus also runs under. */
const PRESET = 'flower-read-only-staff';

interface PolicyVariant {
  name: string;
  /** FLOWERGATE_* settings on top of the site's. */
  env: Record<string, string>;
  rules?: readonly PolicyRule[];
  configFile?: null;
}

const POLICIES: Record<string, PolicyVariant> = {
  "the README's example policy": { name: 'example', env: {} },
  'a read-views policy': { name: 'read-views', env: {}, rules: READ_VIEWS },
  [`the ${PRESET} preset`]: { name: 'preset', env: { FLOWERGATE_POLICY_PRESET: PRESET }, configFile: null },
};
const PREFIXES = ['', 'flower'] as const;

const setup = shared(async (t) => {
  const site = await startDjangoSite({ t });
  const cookies = { staff: await site.cookie('staff'), root: await site.cookie('root') };
  const upstreams = new Map<string, FlowerUpstream>();
  for (const prefix of PREFIXES) upstreams.set(prefix, await startFlowerUpstream({ prefix, t }));
  const gates = new Map<string, Promise<Flowergate>>();
  /** One flowergate per policy and prefix: sidecar in front of the upstream, and the auth endpoints. */
  const gate = (policy: PolicyVariant, prefix: string) => {
    const key = `${policy.name}:${prefix}`;
    let fg = gates.get(key);
    if (!fg) {
      fg = startFlowergate({
        site,
        ...(policy.rules ? { rules: policy.rules } : {}),
        ...(policy.configFile === null ? { configFile: null } : {}),
        env: {
          FLOWERGATE_UPSTREAM: upstreams.get(prefix)!.url,
          // a verdict per session, not per path: the corpus asks the same sessions thousands of times
          FLOWERGATE_CACHE_ALLOW_TTL: '60',
          FLOWERGATE_CACHE_DENY_TTL: '60',
          ...(prefix ? { FLOWERGATE_URL_PREFIX: prefix } : {}),
          ...policy.env,
        },
        t,
      });
      gates.set(key, fg);
    }
    return fg;
  };
  return { cookies, upstreams, gate };
});

/**
 * Tornado's route for each request under `prefix`, in one Python run per prefix for the whole file: the corpus
 * with both methods and the honest requests are routed once, anything else (a path the sidecar rewrote) on
 * demand.
 */
const oracles = new Map<string, Promise<Map<string, Route>>>();
const key = (method: string, uri: string) => `${method} ${uri}`;
async function routesFor(prefix: string, requests: readonly OracleRequest[]): Promise<Route[]> {
  let known = oracles.get(prefix);
  if (!known) {
    const P = prefix ? `/${prefix}` : '';
    const all = [
      ...HONEST.map((h) => ({ method: h.method, uri: `${P}${h.path}` })),
      ...corpusOf(prefix).map((c) => ({ method: c.method, uri: c.uri })),
    ];
    known = routeInFlower(prefix, all).then(
      (r) => new Map(r.routes.map((route) => [key(route.method, route.uri), route])),
    );
    oracles.set(prefix, known);
  }
  const table = await known;
  const missing = requests.filter((r) => !table.has(key(r.method, r.uri)));
  if (missing.length > 0) {
    for (const route of (await routeInFlower(prefix, missing)).routes)
      table.set(key(route.method, route.uri), route);
  }
  return requests.map((r) => table.get(key(r.method, r.uri))!);
}

/** The hostile paths under `prefix`, each with both methods a browser form or script may send. */
const corpusOf = (prefix: string) =>
  hostilePaths(prefix).flatMap((entry) => ['GET', 'POST'].map((method) => ({ ...entry, method })));

/** Runs `work` over `items`, `width` at a time. */
async function pool<T, R>(items: readonly T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: width }, lane));
  return out;
}

maybe(
  "Tornado's table of Flower 2.1 has exactly the 14 acting handlers the corpus guards, with and without a prefix",
  async (t) => {
    for (const prefix of PREFIXES) {
      const { table, routes } = await routeInFlower(prefix, [
        {
          method: 'POST',
          uri: `${prefix ? `/${prefix}` : ''}/api/task/revoke/x/../../../../tasks/datatable`,
        },
      ]);
      const acting = table
        .filter((entry) => entry.handler.startsWith('flower.api.') && entry.methods.includes('POST'))
        .map((entry) => entry.handler);
      t.deepEqual(new Set(acting), ACTING_HANDLERS, `prefix ${JSON.stringify(prefix)}`);
      t.is(acting.length, 14);
      // the issue's bypass, as the oracle sees it: Tornado routes the raw path to revoke
      t.like(routes[0], { handler: 'flower.api.control.TaskRevoke' });
      t.true(runsAnAction(routes[0]!));
    }
  },
);

const title = (policy: string, prefix: string, route: GateRoute) =>
  `${route === 'sidecar' ? 'the sidecar' : `the ${route} endpoint`} under ${policy}${prefix ? ' and --url_prefix=flower' : ''}: no hostile path lets staff run a Flower action, and the honest requests pass`;

for (const [policyTitle, policy] of Object.entries(POLICIES)) {
  for (const prefix of PREFIXES) {
    for (const route of GATE_ROUTES) {
      const name = title(policyTitle, prefix, route);
      maybe(name, (t) => corpusHolds(t, policy, prefix, route));
    }
  }
}

async function corpusHolds(
  t: ExecutionContext,
  policy: PolicyVariant,
  prefix: string,
  route: GateRoute,
): Promise<void> {
  const { cookies, upstreams, gate } = await setup();
  const fg = await gate(policy, prefix);
  const upstream = upstreams.get(prefix)!;
  const P = prefix ? `/${prefix}` : '';
  const tag = `${policy.name}-${prefix || 'none'}-${route}`;
  let id = 0;

  /** Asks the gate as `user`; `reached` is filled in by `reachedFlower` afterwards. */
  const ask = async (user: 'staff' | 'root', method: string, uri: string) => {
    const mark = `${tag}-${++id}`;
    const res = await askGate(fg, route, {
      method,
      uri,
      cookie: cookies[user],
      headers: { 'x-corpus-id': mark },
    });
    return { res, mark, reached: null as string | null };
  };
  /**
   * What reached Flower: for an endpoint, the client's URI when the answer was 200 (the proxy forwards it
   * unchanged); for the sidecar, the URI the upstream recorded (read once: the log grows with the corpus).
   */
  const reachedFlower = async <T extends { res: HttpResponse; mark: string; reached: string | null }>(
    answers: T[],
    uriOf: (answer: T) => string,
  ): Promise<T[]> => {
    const seen =
      route === 'sidecar'
        ? new Map((await upstream.requests()).map((r) => [r.headers['x-corpus-id'], r.uri]))
        : null;
    for (const a of answers) {
      a.reached = seen ? (seen.get(a.mark) ?? null) : a.res.status === 200 ? uriOf(a) : null;
    }
    return answers;
  };

  // Honest twins first: each must pass and reach the handler it names.
  const honest = await reachedFlower(
    await pool(HONEST, 4, async (h) => ({ h, ...(await ask(h.user, h.method, `${P}${h.path}`)) })),
    (a) => `${P}${a.h.path}`,
  );
  const honestRoutes = await routesFor(
    prefix,
    honest.map(({ h, reached }) => ({ method: h.method, uri: reached ?? `${P}${h.path}` })),
  );
  honest.forEach(({ h, res, reached }, i) => {
    const what = `${h.user} ${h.method} ${P}${h.path}`;
    // the sidecar answers with Flower's own status (the stand-in knows no task "x"): reaching it is the pass
    if (route !== 'sidecar') t.is(res.status, 200, `honest ${what} is let through`);
    t.is(reached, `${P}${h.path}`, `honest ${what} reaches Flower unchanged`);
    t.is(honestRoutes[i]?.handler, h.handler, `honest ${what} is routed to ${h.handler}`);
  });

  // The corpus, as staff, with both methods.
  const corpus = corpusOf(prefix);
  const answers = await reachedFlower(
    await pool(corpus, 8, async (c) => ({ c, ...(await ask('staff', c.method, c.uri)) })),
    (a) => a.c.uri,
  );
  const through = answers.filter((a) => a.reached !== null);
  const routes = await routesFor(
    prefix,
    through.map((a) => ({ method: a.c.method, uri: a.reached! })),
  );
  const bypasses = through
    .map((a, i) => ({ ...a, route: routes[i] as Route }))
    .filter((a) => runsAnAction(a.route))
    .map((a) => `${a.c.method} ${a.c.uri} (${a.c.family}) → ${a.route.handler}(${a.route.args.join(', ')})`);
  t.deepEqual(bypasses, [], 'staff requests the gate let through and Tornado routes to an action');
  if (route === 'sidecar') {
    const rewritten = through.filter((a) => a.reached !== a.c.uri).map((a) => `${a.c.uri} → ${a.reached}`);
    t.deepEqual(rewritten, [], 'the sidecar forwards exactly the path it judged');
  }
  t.log(
    `${corpus.length} hostile requests: ${through.length} let through (none acts), ${corpus.length - through.length} refused`,
  );
}
