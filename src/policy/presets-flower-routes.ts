/**
 * Every route of Celery Flower 2.1 (flower/urls.py, in Tornado's order) and what each method its
 * handler answers does: `read` only shows state, `act` changes workers, tasks or queues (or runs
 * code), `default` is left to `policy.default` (Flower's own login, its 404 page, and the CORS
 * preflight Flower answers with 204 and nothing else). test/policy/presets-flower-routes.test.ts
 * compares this table with the shipped Flower source, so a new route or method cannot go
 * unclassified. Sources: research/flower.md §2, flower/api/*.py, flower/views/*.py.
 */
export type FlowerAccess = 'read' | 'act' | 'default';

export interface FlowerRoute {
  /** Tornado's pattern, as urls.py writes it; Tornado anchors it at both ends. */
  readonly route: string;
  /** Every method Flower's handler answers, classified. */
  readonly methods: Readonly<Record<string, FlowerAccess>>;
  readonly what: string;
}

/** Flower's BaseHandler answers OPTIONS on every route with 204 and CORS headers; the UI never sends it. */
const page = (what: string, route: string): FlowerRoute => ({
  route,
  methods: { GET: 'read', OPTIONS: 'default' },
  what,
});
const action = (what: string, route: string): FlowerRoute => ({
  route,
  methods: { POST: 'act', OPTIONS: 'default' },
  what,
});

export const FLOWER_ROUTES: readonly FlowerRoute[] = [
  page('workers dashboard (?json=1 is its feed; ?refresh=1 re-inspects)', '/'),
  page('workers dashboard', '/workers'),
  page('worker page (inspects that worker)', '/worker/(.+)'),
  page('task page', '/task/(.+)'),
  page('tasks page', '/tasks'),
  {
    route: '/tasks/datatable',
    methods: { GET: 'read', POST: 'read', OPTIONS: 'default' },
    what: "tasks table feed: the page reads it with POST, Flower's only read-only POST",
  },
  page('broker queues page', '/broker'),
  page('workers API', '/api/workers'),
  action('shut a worker down', '/api/worker/shutdown/(.+)'),
  action("restart a worker's pool", '/api/worker/pool/restart/(.+)'),
  action("grow a worker's pool", '/api/worker/pool/grow/(.+)'),
  action("shrink a worker's pool", '/api/worker/pool/shrink/(.+)'),
  action('autoscale a worker', '/api/worker/pool/autoscale/(.+)'),
  action('make a worker consume a queue', '/api/worker/queue/add-consumer/(.+)'),
  action('make a worker stop consuming a queue', '/api/worker/queue/cancel-consumer/(.+)'),
  page('tasks API', '/api/tasks'),
  page('task types API', '/api/task/types'),
  page('queue lengths API', '/api/queues/length'),
  page('task info API', '/api/task/info/(.*)'),
  action('run a task and wait for it', '/api/task/apply/(.+)'),
  action('run a task', '/api/task/async-apply/(.+)'),
  action('send any task by name', '/api/task/send-task/(.+)'),
  page('task result API (may wait up to ?timeout=)', '/api/task/result/(.+)'),
  action('abort a task', '/api/task/abort/(.+)'),
  action("change a task's time limits", '/api/task/timeout/(.+)'),
  action("change a task's rate limit", '/api/task/rate-limit/(.+)'),
  action('revoke (and maybe terminate) a task', '/api/task/revoke/(.+)'),
  page("Flower's Prometheus metrics", '/metrics'),
  page("Flower's health check", '/healthcheck'),
  {
    route: '/static/(.*)',
    methods: { GET: 'read', HEAD: 'read' },
    what: 'static files (css, js, swagger.json)',
  },
  {
    route: '/login',
    methods: { GET: 'default', POST: 'default', OPTIONS: 'default' },
    what: "Flower's own login (its 404 page without --auth_provider); flowergate replaces it",
  },
  {
    route: '.*',
    methods: { GET: 'default', POST: 'default', OPTIONS: 'default' },
    what: "Flower's 404 page for every other path",
  },
];
