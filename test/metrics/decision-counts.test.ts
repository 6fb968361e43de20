// End to end, black box: `flowergate serve` (a child process) in sidecar mode in front of the Tornado Flower
// stand-in, reading a real Django site's SQLite database, with sessions made by Django's own login form. One
// fixed sequence of requests goes through each of the four dialects (nginx auth_request, Traefik/Caddy forward
// auth, Envoy ext_authz, the sidecar proxy), then the admin port's /metrics is scraped and every family the
// sequence moves is compared, whole, with exact counts.
//
// The store failure is real: flowergate starts while its database file does not exist yet (a volume not yet
// mounted), so every session look-up fails and is answered 503; then the file appears (a symlink to the
// site's database) and the same process heals. The verdict cache is on with a TTL far longer than the test,
// and requests go one at a time, so which look-ups hit is known: the first use of each session misses, every
// later use, in any dialect, hits.

import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  djangoTool,
  type Flowergate,
  type HttpResponse,
  request,
  shared,
  startDjangoSite,
  startFlowergateProcess,
} from '../support/e2e.ts';
import { FAKE_TASK_ID, startFlowerUpstream } from '../support/flower-upstream.ts';
import { makeTempDir, removeDir } from '../support/processes.ts';
import { type PromSample, parsePrometheusText, seriesOf } from '../support/prometheus-text.ts';
import { toolTest } from '../support/require-tool.ts';

const maybe = await toolTest('tornado', djangoTool());

const DIALECTS = ['nginx', 'forward', 'envoy', 'proxy'] as const;
type Dialect = (typeof DIALECTS)[number];

/** The host the forward-auth dialects report for the original request (the proxy dialect uses its own). */
const FLOWER_HOST = 'flower.example';
/** A well-formed session key that no Django session has. */
const UNKNOWN_SESSION = 'sessionid=0123456789abcdefghijklmnopqrstuv';
const UNKNOWN_TASK = '8d3c2b1a-0000-4000-8000-00000000ffff';

interface Original {
  method: 'GET' | 'POST';
  path: string;
  cookie?: string;
}

/** The original request as each dialect carries it to flowergate. */
function send(fg: Flowergate, dialect: Dialect, original: Original): Promise<HttpResponse> {
  const own = dialect === 'proxy' ? `http://${fg.address}` : `http://${FLOWER_HOST}`;
  const headers: Record<string, string> = {
    accept: 'application/json', // an API client: denials are bare 401/403/503, never a redirect
    ...(original.cookie ? { cookie: original.cookie } : {}),
    // same-origin, so the CSRF guard lets an allowed POST through
    ...(original.method === 'POST' ? { origin: own } : {}),
  };
  switch (dialect) {
    case 'nginx':
      return request(`${fg.url}/_flowergate/auth/nginx`, {
        headers: {
          ...headers,
          'x-original-url': `${own}${original.path}`,
          'x-original-method': original.method,
        },
      });
    case 'forward':
      return request(`${fg.url}/_flowergate/auth/forward`, {
        headers: {
          ...headers,
          'x-forwarded-method': original.method,
          'x-forwarded-proto': 'http',
          'x-forwarded-host': FLOWER_HOST,
          'x-forwarded-uri': original.path,
        },
      });
    case 'envoy':
      return request(`${fg.url}/_flowergate/auth/envoy${original.path}`, {
        method: original.method,
        headers: { ...headers, host: FLOWER_HOST, 'x-forwarded-proto': 'http' },
      });
    case 'proxy':
      return request(`${fg.url}${original.path}`, { method: original.method, headers });
  }
}

interface Step {
  what: string;
  original: Original;
  /** What the client gets: forward-auth dialects answer 200 for allow, and the proxy passes Flower's on… */
  status: number;
  /** …which, where it is not the same, is this. */
  proxyStatus?: number;
}

/** The healthy-store sequence, sent through each dialect in DIALECTS order, with the given cookies. */
function healthySteps(cookies: { root: string; staff: string; plain: string }): Step[] {
  const revoke = `/api/task/revoke/${FAKE_TASK_ID}`;
  // what, method, path, cookie, status, and the proxy's status where Flower's own answer differs
  const rows: [string, Original['method'], string, string | undefined, number, number?][] = [
    ['superuser GET', 'GET', '/workers', cookies.root, 200],
    ['superuser POST', 'POST', revoke, cookies.root, 200],
    [
      'superuser GET of a task Flower does not know',
      'GET',
      `/api/task/info/${UNKNOWN_TASK}`,
      cookies.root,
      200,
      404,
    ],
    ['public health check', 'GET', '/healthcheck', undefined, 200],
    ['no cookie', 'GET', '/workers', undefined, 401],
    ['unknown session', 'GET', '/workers', UNKNOWN_SESSION, 401],
    ['plain user GET', 'GET', '/workers', cookies.plain, 403],
    ['staff POST', 'POST', revoke, cookies.staff, 403],
    // Refused before any look-up: Tornado would route the raw `//`, which a proxy may merge.
    ['superuser GET of an ambiguous path', 'GET', '/api//workers', cookies.root, 400],
  ];
  return rows.map(([what, method, path, cookie, status, proxyStatus]) => ({
    what,
    original: { method, path, ...(cookie ? { cookie } : {}) },
    status,
    ...(proxyStatus ? { proxyStatus } : {}),
  }));
}

interface Run {
  /** `<dialect> <step>: <status>` for every request, in order. */
  answers: string[];
  expectedAnswers: string[];
  samples: PromSample[];
}

const PROXIED_REQUESTS = 4; // the healthy steps that reach Flower through the sidecar

async function scrape(adminUrl: string): Promise<PromSample[]> {
  const response = await fetch(`${adminUrl}/metrics`);
  if (response.status !== 200) throw new Error(`GET ${adminUrl}/metrics: ${response.status}`);
  return parsePrometheusText(await response.text());
}

/** The sidecar records a proxied request when its response closes, which may trail the client's last byte. */
async function scrapeSettled(adminUrl: string): Promise<PromSample[]> {
  const proxied = (samples: PromSample[]) =>
    samples
      .filter((s) => s.name === 'flowergate_proxy_request_duration_seconds_count')
      .reduce((sum, s) => sum + s.value, 0);
  let samples = await scrape(adminUrl);
  // a bound, not a target: on a loaded machine the last response can close seconds after the client is done
  for (let deadline = Date.now() + 30_000; proxied(samples) < PROXIED_REQUESTS && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    samples = await scrape(adminUrl);
  }
  return samples;
}

const run = shared(async (t): Promise<Run> => {
  const site = await startDjangoSite({ t });
  const flower = await startFlowerUpstream({ t });
  const cookies = {
    root: await site.cookie('root'),
    staff: await site.cookie('staff'),
    plain: await site.cookie('plain'),
  };
  const dir = makeTempDir('decision-counts');
  t.teardown(async () => removeDir(dir));
  const dbPath = join(dir, 'db.sqlite3'); // not there yet
  const fg = await startFlowergateProcess({
    site,
    env: {
      FLOWERGATE_DJANGO_DATABASE_URL: `sqlite:///${dbPath}`,
      FLOWERGATE_UPSTREAM: flower.url,
      FLOWERGATE_CACHE_ALLOW_TTL: '3600',
      FLOWERGATE_CACHE_DENY_TTL: '3600',
    },
    t,
  });

  const answers: string[] = [];
  const expectedAnswers: string[] = [];
  const step = async (dialect: Dialect, s: Step) => {
    const response = await send(fg, dialect, s.original);
    answers.push(`${dialect} ${s.what}: ${response.status}`);
    expectedAnswers.push(
      `${dialect} ${s.what}: ${dialect === 'proxy' ? (s.proxyStatus ?? s.status) : s.status}`,
    );
  };

  // The database file is missing: the superuser's session cannot be looked up.
  const storeDown: Step = {
    what: 'superuser GET while the database is missing',
    original: { method: 'GET', path: '/workers', cookie: cookies.root },
    status: 503,
  };
  for (const dialect of DIALECTS) await step(dialect, storeDown);

  symlinkSync(site.dbPath, dbPath);
  for (const dialect of DIALECTS) for (const s of healthySteps(cookies)) await step(dialect, s);

  return { answers, expectedAnswers, samples: await scrapeSettled(fg.adminUrl) };
});

/** `{ 'nginx/x': n, 'forward/x': n, … }` for the same counts in every dialect. */
function perDialect(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    DIALECTS.flatMap((dialect) => Object.entries(counts).map(([key, n]) => [`${dialect}/${key}`, n])),
  );
}

maybe(
  'each dialect answers 503 while the store is missing, then 200, 401 and 403 as the policy says',
  async (t) => {
    const r = await run();
    t.is(r.answers.length, 4 * 10);
    t.deepEqual(r.answers, r.expectedAnswers);
  },
);

/** Each family the sequence moves, in full: a series missing, extra or off by one fails its test. */
const EXPECTED: { title: string; metric: string; labels: string[]; counts: Record<string, number> }[] = [
  {
    title:
      'flowergate_auth_decisions_total counts every decision once by dialect, decision and reason, and nothing else',
    metric: 'flowergate_auth_decisions_total',
    labels: ['dialect', 'decision', 'reason'],
    counts: perDialect({
      'error/store_unavailable': 1,
      'allow/ok': 3,
      'allow/public': 1,
      'unauthenticated/no_cookie': 1,
      'unauthenticated/no_session': 1,
      'forbidden/not_staff': 1,
      'forbidden/not_superuser': 1,
      'forbidden/ambiguous_path': 1,
    }),
  },
  {
    // nginx goes first: the first look-up of each of the four sessions misses there, the superuser's next two
    // requests hit. A request without a cookie, a public path, a refused path and a failed look-up never use
    // the cache: miss.
    title:
      'decision durations are labelled hit only when the cache answered: a session misses once, then hits in every dialect',
    metric: 'flowergate_auth_decision_duration_seconds_count',
    labels: ['dialect', 'cache'],
    counts: {
      'nginx/miss': 8,
      'nginx/hit': 2,
      'forward/miss': 4,
      'forward/hit': 6,
      'envoy/miss': 4,
      'envoy/hit': 6,
      'proxy/miss': 4,
      'proxy/hit': 6,
    },
  },
  {
    // Look-ups of a session cookie that got an answer: per dialect the superuser's 3 requests, staff, plain and
    // the unknown session, so 24; only the first of each of the 4 sessions misses. The 4 look-ups that failed
    // while the store was down are neither counted nor cached.
    title:
      'flowergate_decision_cache_total counts one miss per session and a hit for each reuse, never a failed look-up',
    metric: 'flowergate_decision_cache_total',
    labels: ['result'],
    counts: { hit: 20, miss: 4, coalesced: 0 },
  },
  {
    // Store down: 4 session queries fail. Cache misses: the superuser's session, user and groups (for the
    // identity headers); staff's and plain's session and user; the unknown session finds no row. Hits query nothing.
    title: 'flowergate_session_store_duration_seconds counts each query of a cache miss as ok, miss or error',
    metric: 'flowergate_session_store_duration_seconds_count',
    labels: ['engine', 'result'],
    counts: { 'sqlite/error': 4, 'sqlite/ok': 7, 'sqlite/miss': 1 },
  },
  {
    // /workers and /healthcheck, the revoke POST, the unknown task (Flower's 404); refusals never reach Flower.
    title:
      'flowergate_proxy_request_duration_seconds counts only requests that reached Flower, by method and its status',
    metric: 'flowergate_proxy_request_duration_seconds_count',
    labels: ['method', 'code'],
    counts: { 'GET/200': 2, 'POST/200': 1, 'GET/404': 1 },
  },
  {
    title: 'flowergate_proxy_upstream_errors_total stays 0 for every kind when Flower answers every request',
    metric: 'flowergate_proxy_upstream_errors_total',
    labels: ['kind'],
    counts: { connect: 0, timeout: 0, reset: 0, other: 0 },
  },
];

for (const { title, metric, labels, counts } of EXPECTED) {
  maybe(title, async (t) => {
    t.deepEqual(seriesOf((await run()).samples, metric, labels), counts);
  });
}
