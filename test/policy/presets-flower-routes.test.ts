import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { createPolicy } from '../../src/policy/policy.ts';
import { FLOWER_ROUTES, type FlowerAccess } from '../../src/policy/presets-flower-routes.ts';
import { FLOWER_SOURCE, flowerRouteTable, realFlowerTool } from '../support/real-flower.ts';
import { toolTest } from '../support/require-tool.ts';

// The presets must classify every route and method of the Flower release they were written for, read from the
// shipped source, so a new Flower with a new action fails here instead of falling silently under a read rule.

const source = await toolTest({
  name: "Flower's urls.py",
  check: () => readFileSync(join(FLOWER_SOURCE, 'flower/urls.py')),
});
const flower = await toolTest(realFlowerTool);
let table: ReturnType<typeof flowerRouteTable> | undefined;
const flowerRoutes = () => {
  table ??= flowerRouteTable();
  return table;
};

source('the route table lists every route of flower/urls.py, in its order, and nothing else', (t) => {
  const text = readFileSync(join(FLOWER_SOURCE, 'flower/urls.py'), 'utf8');
  const block = text.slice(text.indexOf('handlers = ['));
  const routes = [...block.matchAll(/^\s*(?:url\()?\(?r"([^"]+)"/gm)].map((m) => m[1]);
  t.true(routes.length > 20, 'urls.py was read');
  t.deepEqual(
    FLOWER_ROUTES.map((r) => r.route),
    routes,
  );
});

flower('every method each Flower handler answers is classified, and no classified method is made up', (t) => {
  const table = flowerRoutes();
  t.deepEqual(
    table.map((r) => r.route),
    FLOWER_ROUTES.map((r) => r.route),
  );
  for (const [i, actual] of table.entries()) {
    const classified = FLOWER_ROUTES[i]!;
    if (actual.dynamic) {
      // LoginHandler becomes --auth_provider's class (or the 404 handler): nothing is known, so nothing is opened.
      t.true(
        Object.values(classified.methods).every((kind) => kind === 'default'),
        `${actual.route} (${actual.handler}) picks its class at run time: every method must be left to the default`,
      );
      continue;
    }
    t.deepEqual(
      Object.keys(classified.methods).sort(),
      [...actual.methods].sort(),
      `${actual.route} (${actual.handler}) answers ${actual.methods.join(', ')}`,
    );
  }
});

source(
  'reads are GETs, actions are the POSTs under /api/, and the one read-only POST is the tasks table',
  (t) => {
    // Written out from research/flower.md §2, independently of the table, so a misclassified route fails here.
    const expectedKind = (route: string, method: string): FlowerAccess => {
      if (route === '.*' || route === '/login' || method === 'OPTIONS') return 'default';
      if (method === 'GET' || method === 'HEAD') return 'read';
      if (method === 'POST' && route.startsWith('/api/')) return 'act';
      if (method === 'POST' && route === '/tasks/datatable') return 'read';
      return 'default';
    };
    for (const { route, methods } of FLOWER_ROUTES)
      for (const [method, kind] of Object.entries(methods))
        t.is(kind, expectedKind(route, method), `${method} ${route}`);
    // The exception rests on Flower's code: TasksDataTable.post only calls get().
    const tasks = readFileSync(join(FLOWER_SOURCE, 'flower/views/tasks.py'), 'utf8');
    t.regex(tasks, /def post\(self\):\n\s+return self\.get\(\)\n/);
  },
);

/** A path Tornado routes to `route`: each group filled with a worker-like name. */
const sample = (route: string) =>
  route === '.*' ? '/no/such/page' : route.replace(/\(\.[+*]\)/g, 'lab1@host');

/** Which route Tornado would pick for `path`: the first whose pattern matches the whole path. */
const tornadoRoute = (path: string) =>
  FLOWER_ROUTES.find((r) => new RegExp(`^(?:${r.route})$`, 'u').test(path))?.route;

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

const presetPolicy = (preset: string, extra: Record<string, string> = {}) =>
  createPolicy(
    loadConfig({
      env: { FLOWERGATE_DJANGO_SECRET_KEY: 'k', FLOWERGATE_POLICY_PRESET: preset, ...extra },
    }).policy,
  );

for (const [preset, act] of [
  ['flower-read-only-staff', 'superuser'],
  ['flower-operators', 'group:flower-operators'],
] as const) {
  flower(`${preset}: every route and method of Flower gets the requirement its classification says`, (t) => {
    const policy = presetPolicy(preset, { FLOWERGATE_POLICY_OPERATOR_GROUP: 'flower-operators' });
    const expected: Record<FlowerAccess, string> = { read: 'staff', act, default: 'superuser' };
    for (const { route, methods } of flowerRoutes()) {
      const path = sample(route);
      t.is(tornadoRoute(path), route, `the sample ${path} reaches ${route} in Tornado's order`);
      const classified = FLOWER_ROUTES.find((r) => r.route === route)!;
      for (const method of new Set([...methods, ...METHODS])) {
        // HEAD is a read wherever GET is; anything Flower does not answer is left to the default.
        const kind = classified.methods[method] ?? (method === 'HEAD' ? classified.methods.GET : undefined);
        const match = policy.match({ method, host: 'flower.example.com', path, client: null });
        t.is(
          match.requirementText,
          expected[kind ?? 'default'],
          `${method} ${path} (${route}) is ${kind ?? 'unclassified'}: rule ${match.rule}`,
        );
        if (kind === 'default' || kind === undefined) t.is(match.rule, 'default', `${method} ${path}`);
      }
    }
  });
}
