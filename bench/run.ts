// `npm run bench [-- options]`: flowergate against its ceilings and baselines (issue 8), on loopback.
//
//   --write              also write the table to docs/benchmarks.md
//   --quick              2 s per measurement, 1 repeat (a smoke run; not for the docs)
//   --seconds N          measured seconds per run (default 5)
//   --warmup N           warm-up seconds before each run (default 1)
//   --repeats N          runs per row and connection count; the median is reported (default 3)
//   --connections A,B    connection counts (default 16,64; the sidecar row adds 1)
//   --only ROWS          comma-separated: ceiling,warm,cold-sqlite,cold-postgres,denial,nginx,sidecar
//   --sessions N         distinct Django sessions for the cold rows (default 5000)
//   --generator wrk|node the load generator (default: wrk when installed, else node)
//   --cpu-prof DIR       run every flowergate under `node --cpu-prof`, profiles into DIR
//   --fg-env KEY=VALUE   extra environment for every flowergate (repeatable), e.g. to try a setting
//   --fg-node-flags "…"  extra node flags for every flowergate, e.g. "--max-semi-space-size=4"
//   --compare-src DIR    rows 2–4 also run flowergate from another checkout's src/ (A/B a change;
//                        DIR needs package.json and node_modules, e.g. a symlink to this one's)
//   --compare-env K=V    rows 2–4 also run flowergate with this extra environment (repeatable; A/B a setting)
//
// Every row runs with the baselines it is compared to, interleaved (baseline, row, baseline, row, …)
// so that noise from other work on the machine hits both. Rows whose tools are missing are skipped
// with the reason and the command that installs them.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parseArgs } from 'node:util';
import { assertNginx, type Nginx, startNginx } from '../test/support/nginx.ts';
import {
  freePort,
  type ManagedProcess,
  makeTempDir,
  removeDir,
  startProcess,
  which,
} from '../test/support/processes.ts';
import { renderDoc } from './doc.ts';
import { type BenchData, makeBenchData, writePostgres, writeSqlite } from './fixtures.ts';
import {
  BASE64URL_ALPHABET,
  type LoadGenerator,
  type LoadResult,
  nodeGenerator,
  probeStatuses,
  RANDOM_KEY,
  type RequestSource,
  type RequestSpec,
  wrkGenerator,
} from './load.ts';
import {
  type Check,
  fmtMiB,
  fmtMs,
  fmtRatio,
  fmtRps,
  type Line,
  renderTable,
  renderText,
  type Sample,
  type Summary,
  summarize,
} from './report.ts';
import {
  choosePinning,
  cpuMicros,
  describeMachine,
  memoryOf,
  type Pinning,
  pinned,
  processTree,
  toolVersion,
} from './system.ts';

const REPO = resolve(new URL('..', import.meta.url).pathname);
const ROWS = ['ceiling', 'warm', 'cold-sqlite', 'cold-postgres', 'denial', 'nginx', 'sidecar'] as const;
type RowId = (typeof ROWS)[number];

const { values: args } = parseArgs({
  options: {
    write: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    repeats: { type: 'string' },
    connections: { type: 'string' },
    only: { type: 'string' },
    sessions: { type: 'string' },
    generator: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'compare-src': { type: 'string' },
    'compare-env': { type: 'string', multiple: true },
    'fg-env': { type: 'string', multiple: true },
    'fg-node-flags': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (args.help) {
  const text = (await import('node:fs')).readFileSync(new URL(import.meta.url), 'utf8');
  process.stdout.write(`${text.split('\n\n')[0]!.replaceAll(/^\/\/ ?/gm, '')}\n`);
  process.exit(0);
}

const settings = {
  seconds: Number(args.seconds ?? (args.quick ? 2 : 5)),
  warmup: Number(args.warmup ?? 1),
  repeats: Number(args.repeats ?? (args.quick ? 1 : 3)),
  connections: (args.connections ?? '16,64').split(',').map(Number),
  sessions: Number(args.sessions ?? 5000),
  only: new Set<RowId>(
    (args.only ?? ROWS.join(',')).split(',').map((r) => {
      if (!(ROWS as readonly string[]).includes(r)) throw new Error(`--only: unknown row ${r}`);
      return r as RowId;
    }),
  ),
  cpuProf: args['cpu-prof'] ? resolve(args['cpu-prof']) : null,
  compare:
    args['compare-src'] || args['compare-env']
      ? {
          root: args['compare-src'] ? resolve(args['compare-src']) : REPO,
          env: pairs(args['compare-env'], '--compare-env'),
          label: [args['compare-src'], ...(args['compare-env'] ?? [])].filter(Boolean).join(' '),
        }
      : null,
  fgEnv: pairs(args['fg-env'], '--fg-env'),
  fgNodeFlags: (args['fg-node-flags'] ?? '').split(/\s+/).filter(Boolean),
};
function pairs(list: string[] | undefined, option: string): Record<string, string> {
  return Object.fromEntries(
    (list ?? []).map((pair) => {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`${option} wants KEY=VALUE, got ${pair}`);
      return [pair.slice(0, eq), pair.slice(eq + 1)];
    }),
  );
}
const log = (text: string) => process.stderr.write(`${text}\n`);

// ------------------------------------------------------------------------------------ environment

const pinning: Pinning | string = choosePinning();
const wrk = which('wrk');
let expectNow = 200;
const generator: LoadGenerator =
  args.generator === 'node' || !wrk
    ? nodeGenerator(() => expectNow)
    : wrkGenerator(wrk, typeof pinning === 'string' ? undefined : pinning.taskset);
if (args.generator === 'wrk' && !wrk)
  throw new Error('--generator wrk: wrk is not installed (apt-get install -y wrk)');
if (!wrk)
  log('NOTE: wrk not found (install with: apt-get install -y wrk); using the slower Node load generator.');
if (typeof pinning === 'string') log(`NOTE: not pinning CPUs: ${pinning}`);

const machine = describeMachine();
const versions = {
  wrk: wrk ? toolVersion('wrk', ['-v'], /wrk (\S+)/) : null,
  nginx: toolVersion('nginx', ['-v'], /nginx\/(\S+)/),
  sqlite: (() => {
    const db = new DatabaseSync(':memory:');
    const v = (db.prepare('select sqlite_version() as v').get() as { v: string }).v;
    db.close();
    return v;
  })(),
  postgres: null as string | null,
};

const dir = makeTempDir('bench');
const processes: ManagedProcess[] = [];
const nginxes: Nginx[] = [];
let cleaned = false;
const cleanup = async () => {
  if (cleaned) return;
  cleaned = true;
  await Promise.all([...processes.map((p) => p.stop()), ...nginxes.map((n) => n.stop())]);
  removeDir(dir);
};
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

// Every Node process (flowergate and the baselines) runs with a warm compile cache, as flowergate does
// from its second start in a pod (bin/flowergate.js): Node's TypeScript stripper is then never loaded.
const compileCache = join(dir, 'compile-cache');
const cleanEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLOWERGATE_'))),
  NODE_COMPILE_CACHE: compileCache,
};

/** A Node script on the server CPU, its stdout discarded (flowergate's audit log goes to /dev/null). */
async function startNode(
  name: string,
  script: string[],
  port: number,
  env: NodeJS.ProcessEnv = cleanEnv,
): Promise<ManagedProcess> {
  const flowergate = name.startsWith('flowergate');
  const flags = [
    ...(settings.cpuProf && flowergate
      ? ['--cpu-prof', `--cpu-prof-dir=${settings.cpuProf}`, `--cpu-prof-name=${name}.cpuprofile`]
      : []),
    ...(flowergate ? settings.fgNodeFlags : []),
  ];
  const argv = pinned(pinning, 'server', [
    '/bin/sh',
    '-c',
    'exec "$@" >/dev/null',
    'sh',
    process.execPath,
    ...flags,
    ...script,
  ]);
  const proc = await startProcess(argv[0]!, argv.slice(1), {
    name,
    env,
    cwd: REPO,
    readyPort: port,
    timeoutMs: 30_000,
    graceMs: 10_000,
  });
  processes.push(proc);
  return proc;
}

async function startBare(name: string, mode: 'empty' | 'upstream') {
  const port = await freePort();
  const proc = await startNode(name, ['bench/servers/bare.ts', String(port), mode], port);
  return { proc, origin: `http://127.0.0.1:${port}` };
}

async function startFlowergate(name: string, env: Record<string, string>, root = REPO) {
  const port = await freePort();
  const admin = await freePort();
  const proc = await startNode(name, [join(root, 'bin/flowergate.js'), 'serve'], port, {
    ...cleanEnv,
    FLOWERGATE_DJANGO_SECRET_KEY: secretKey,
    FLOWERGATE_LISTEN: `127.0.0.1:${port}`,
    FLOWERGATE_ADMIN_LISTEN: `127.0.0.1:${admin}`,
    ...env,
    ...settings.fgEnv,
  });
  return { proc, origin: `http://127.0.0.1:${port}` };
}

/** nginx's master and worker processes. */
function nginxPids(nginx: Nginx): number[] {
  try {
    return processTree(Number(readFileSync(join(nginx.dir, 'nginx.pid'), 'utf8').trim()));
  } catch {
    return [];
  }
}

/** Runs `fn` with this process pinned to the server CPU, so what it spawns (nginx) runs there. */
async function onServerCpu<T>(fn: () => Promise<T>): Promise<T> {
  if (typeof pinning === 'string') return await fn();
  const { spawnSync } = await import('node:child_process');
  spawnSync(pinning.taskset, ['-p', '-c', pinning.server, String(process.pid)], { stdio: 'ignore' });
  try {
    return await fn();
  } finally {
    spawnSync(pinning.taskset, ['-a', '-p', '-c', pinning.generator, String(process.pid)], {
      stdio: 'ignore',
    });
  }
}

// ----------------------------------------------------------------------------------------- data

const secretKey = `bench-${randomBytes(24).toString('base64url')}`;
log(`making ${settings.sessions} Django users and sessions…`);
const data: BenchData = makeBenchData(secretKey, settings.sessions);
const sqlitePath = join(dir, 'db.sqlite3');
writeSqlite(sqlitePath, data);
const sqliteUrl = `sqlite:///${sqlitePath}`;
const csrf = randomBytes(16).toString('hex');

const BROWSER_HEADERS = {
  'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  Accept: 'application/json, text/javascript, */*; q=0.01',
  'Accept-Language': 'en-US,en;q=0.5',
  'X-Requested-With': 'XMLHttpRequest',
};
const FLOWER_PATH = '/api/workers?refresh=1';
const cookieFor = (key: string) => `csrftoken=${csrf}; sessionid=${key}`;

/** What ingress-nginx sends to `auth-url` for a Flower dashboard poll (see test/support/nginx.ts). */
const authRequest = (sessionKey: string): RequestSpec => ({
  path: '/_flowergate/auth/nginx',
  headers: {
    'X-Request-ID': '4f1c2a9e8b7d6c5e4f3a2b1c0d9e8f7a',
    'X-Original-URL': `http://flower.example.com${FLOWER_PATH}`,
    'X-Original-Method': 'GET',
    'X-Sent-From': 'nginx-ingress-controller',
    'X-Real-IP': '10.0.0.7',
    'X-Forwarded-For': '10.0.0.7',
    'X-Auth-Request-Redirect': FLOWER_PATH,
    ...BROWSER_HEADERS,
    Cookie: cookieFor(sessionKey),
  },
});
/** What a browser sends to Flower (through nginx or the sidecar). */
const pageRequest = (sessionKey: string, path = FLOWER_PATH): RequestSpec => ({
  path,
  headers: { ...BROWSER_HEADERS, Cookie: cookieFor(sessionKey) },
});
const superuserKey = data.sessionKeys[0]!;

// Prime the compile cache: one start of each server, flowergate in sidecar mode (it loads the most).
log('priming the compile cache…');
for (const primed of [
  await startFlowergate('prime-flowergate', {
    FLOWERGATE_DJANGO_DATABASE_URL: sqliteUrl,
    FLOWERGATE_UPSTREAM: 'http://127.0.0.1:9',
  }),
  await startBare('prime-bare', 'empty'),
])
  await primed.proc.stop();
for (const [script, extra] of [
  ['bench/servers/koa.ts', []],
  ['bench/servers/pipe-proxy.ts', ['http://127.0.0.1:9']],
] as const) {
  const port = await freePort();
  await (await startNode(`prime-${script}`, [script, String(port), ...extra], port)).stop();
}
const one = (spec: RequestSpec): RequestSource => ({ kind: 'list', requests: [spec] });

// ---------------------------------------------------------------------------------- measurement

interface Target {
  readonly id: string;
  readonly origin: string;
  readonly source: RequestSource;
  readonly expect: number;
  /** The server whose peak RSS is reported. */
  readonly pid: number;
  /** Every server-side process whose CPU time counts (default: pid). */
  readonly cpuPids?: () => number[];
}

function problemOf(result: LoadResult, expect: number): string | null {
  const problems: string[] = [];
  if (result.socketErrors) problems.push(`${result.socketErrors} socket errors`);
  // wrk counts answers outside 2xx/3xx; the Node generator counts answers other than `expect`.
  const wrong =
    generator.name === 'wrk' && expect >= 400 ? result.requests - result.badStatus : result.badStatus;
  if (wrong > 0) problems.push(`${wrong} answers were not ${expect}`);
  if (result.requests === 0) problems.push('no requests completed');
  return problems.length ? problems.join(', ') : null;
}

async function preflight(target: Target): Promise<void> {
  const statuses = await probeStatuses(target.origin, target.source);
  if (statuses.some((s) => s !== target.expect))
    throw new Error(
      `${target.id}: expected ${target.expect}, got ${statuses.join(', ')} from ${target.origin}`,
    );
}

type Results = Map<string, Map<number, Sample[]>>;

/** Each connection count; each repeat; each target in turn (the order rotates between repeats). */
async function measure(targets: readonly Target[], connections: readonly number[]): Promise<Results> {
  const results: Results = new Map(targets.map((t) => [t.id, new Map()]));
  for (const c of connections) {
    for (let r = 0; r < settings.repeats; r++) {
      const order = targets.map((_t, i) => targets[(i + r) % targets.length]!);
      for (const target of order) {
        expectNow = target.expect;
        const run = { origin: target.origin, source: target.source, connections: c, cpus: genCpus };
        if (settings.warmup > 0) await generator.run({ ...run, seconds: settings.warmup });
        const pids = target.cpuPids?.() ?? [target.pid];
        const cpuBefore = cpuMicros(pids);
        let peakAnonKiB: number | null = null;
        const sampler = setInterval(() => {
          const anon = memoryOf(target.pid)?.anonKiB;
          if (anon !== undefined) peakAnonKiB = Math.max(peakAnonKiB ?? 0, anon);
        }, 100);
        const result = await generator
          .run({ ...run, seconds: settings.seconds })
          .finally(() => clearInterval(sampler));
        const cpuUs = result.requests ? (cpuMicros(pids) - cpuBefore) / result.requests : null;
        const peakKiB = memoryOf(target.pid)?.peakKiB ?? null;
        const problem = problemOf(result, target.expect);
        results
          .get(target.id)!
          .set(c, [
            ...(results.get(target.id)!.get(c) ?? []),
            { result, peakKiB, peakAnonKiB, cpuUs, problem },
          ]);
        log(
          `  ${target.id.padEnd(22)} c=${String(c).padStart(2)} #${r + 1}: ${fmtRps(result.rps).padStart(7)} req/s  p50 ${fmtMs(result.p50Ms)} ms  p99 ${fmtMs(result.p99Ms)} ms  peak RSS ${fmtMiB(peakKiB === null ? null : peakKiB / 1024)} MiB  CPU ${cpuUs === null ? '–' : cpuUs.toFixed(0)} µs/req${problem ? `  (${problem})` : ''}`,
        );
      }
    }
  }
  return results;
}
const genCpus = typeof pinning === 'string' ? undefined : pinning.generator;

const get = (results: Results, id: string, c: number): Summary | null => {
  const samples = results.get(id)?.get(c);
  return samples?.length ? summarize(samples) : null;
};

/** The request-rate ratio the CPU costs predict (baseline CPU per request / row's): robust to a busy machine. */
const cpuRatio = (base: Summary, row: Summary): string =>
  base.cpuUs && row.cpuUs ? ` (by CPU ${fmtRatio(base.cpuUs / row.cpuUs)})` : '';

const RSS_LIMIT_MIB = 100;
const rssCheck = (s: Summary): Check[] =>
  s.peakMiB === null ? [] : [{ text: `RSS ≤ ${RSS_LIMIT_MIB} MiB`, pass: s.peakMiB <= RSS_LIMIT_MIB }];
const ratioCheck = (ratio: number, min: number): Check => ({ text: `≥ ${min}×`, pass: ratio >= min });

const lines: Line[] = [];
const skipped: string[] = [];
const skip = (row: string, what: string, why: string) => {
  log(`SKIPPED: ${row} ${what}: ${why}`);
  skipped.push(`${row} ${what}: ${why}`);
  lines.push({
    row,
    what,
    connections: '–',
    summary: null,
    ratio: '–',
    checks: [],
    note: `skipped: ${why}`,
    skipped: true,
  });
};

/** Adds the baseline's line and the rows compared to it, for every connection count. */
function compare(
  results: Results,
  baseline: { id: string; row: string; what: string },
  rows: {
    id: string;
    row: string;
    what: string;
    min: number;
    flowergate: boolean;
    extra?: (c: number, s: Summary) => Check[];
  }[],
  connections: readonly number[],
  name: string,
) {
  for (const c of connections) {
    const base = get(results, baseline.id, c);
    lines.push({
      row: baseline.row,
      what: baseline.what,
      connections: String(c),
      summary: base,
      ratio: 'baseline',
      checks: [],
    });
    for (const row of rows) {
      const s = get(results, row.id, c);
      if (!s || !base) continue;
      const ratio = s.rps.median / base.rps.median;
      const cpu = cpuRatio(base, s);
      lines.push({
        row: row.row,
        what: row.what,
        connections: String(c),
        summary: s,
        ratio: `${fmtRatio(ratio)} ${name}${cpu}`,
        checks: [
          ...(row.min > 0 ? [ratioCheck(ratio, row.min)] : []),
          ...(row.extra?.(c, s) ?? []),
          ...(row.flowergate ? rssCheck(s) : []),
          ...(s.problems.length ? [{ text: 'no errors', pass: false }] : []),
        ],
      });
    }
  }
}

// ------------------------------------------------------------------------------------ the rows

try {
  const started = new Date();
  const wantA = (['ceiling', 'warm', 'cold-sqlite', 'cold-postgres', 'denial'] as const).some((r) =>
    settings.only.has(r),
  );

  // Rows 1–4: the decision itself, against a bare node:http server on the same request bytes.
  if (wantA) {
    log('\n== rows 1–4: forward-auth decisions vs the bare node:http ceiling');
    const targets: Target[] = [];
    const ceiling = await startBare('ceiling', 'empty');
    targets.push({
      id: 'ceiling',
      origin: ceiling.origin,
      source: one(authRequest(superuserKey)),
      expect: 200,
      pid: ceiling.proc.pid,
    });
    const rows: Parameters<typeof compare>[2] = [];
    // Not a target: what Koa + @koa/router alone reach, so a reader can tell framework cost from flowergate's.
    const koaPort = await freePort();
    const koa = await startNode('koa', ['bench/servers/koa.ts', String(koaPort)], koaPort);
    targets.push({
      id: 'koa',
      origin: `http://127.0.0.1:${koaPort}`,
      source: one(authRequest(superuserKey)),
      expect: 200,
      pid: koa.pid,
    });
    rows.push({
      id: 'koa',
      row: '1b',
      what: 'reference: Koa + @koa/router answering 200, no work',
      min: 0,
      flowergate: false,
    });
    /** A flowergate row; with --compare-src, also the same row from that other source tree. */
    const addRow = async (row: {
      id: string;
      row: string;
      what: string;
      min: number;
      env: Record<string, string>;
      source: RequestSource;
      expect: number;
      extra?: (c: number, s: Summary) => Check[];
    }) => {
      const variants = [{ suffix: '', root: REPO, env: {} as Record<string, string> }];
      if (settings.compare) variants.push({ suffix: ' @compare', ...settings.compare });
      for (const { suffix, root, env } of variants) {
        const id = `${row.id}${suffix}`;
        const fg = await startFlowergate(
          `flowergate-${row.id}${suffix ? '-compare' : ''}`,
          { ...row.env, ...env },
          root,
        );
        targets.push({ id, origin: fg.origin, source: row.source, expect: row.expect, pid: fg.proc.pid });
        rows.push({
          ...row,
          id,
          row: suffix ? `${row.row} (compare)` : row.row,
          what: suffix ? `${row.what} — with ${settings.compare?.label}` : row.what,
          flowergate: !suffix,
        });
      }
    };
    if (settings.only.has('warm')) {
      await addRow({
        id: 'warm',
        row: '2',
        what: 'warm decision: one superuser session, cache hit (SQLite)',
        min: 0.7,
        env: { FLOWERGATE_DJANGO_DATABASE_URL: sqliteUrl },
        source: one(authRequest(superuserKey)),
        expect: 200,
        extra: (c, s) => (c === 64 ? [{ text: 'p99 ≤ 5 ms', pass: s.p99Ms <= 5 }] : []),
      });
    }
    const cold = (engine: string) => ({
      FLOWERGATE_CACHE_ALLOW_TTL: '0',
      FLOWERGATE_CACHE_DENY_TTL: '0',
      FLOWERGATE_DJANGO_DATABASE_URL: engine,
    });
    const allSessions: RequestSource = { kind: 'list', requests: data.sessionKeys.map(authRequest) };
    if (settings.only.has('cold-sqlite')) {
      await addRow({
        id: 'cold-sqlite',
        row: '3a',
        what: `cold decision: ${settings.sessions} distinct sessions, cache off, SQLite`,
        min: 0.25,
        env: cold(sqliteUrl),
        source: allSessions,
        expect: 200,
      });
    }
    if (settings.only.has('cold-postgres')) {
      const server = process.env['FLOWERGATE_BENCH_POSTGRES'] ?? 'postgres://postgres@127.0.0.1:5432';
      let url: string | null = null;
      try {
        log(`loading the same users and sessions into PostgreSQL (${server}/fg_bench, Django migrate)…`);
        url = await writePostgres(server, 'fg_bench', data);
        const { default: pg } = await import('pg');
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        versions.postgres = (await client.query('SHOW server_version')).rows[0].server_version;
        await client.end();
      } catch (error) {
        skip('3b', 'cold decision (PostgreSQL)', (error as Error).message.split('\n')[0]!);
      }
      if (url) {
        await addRow({
          id: 'cold-postgres',
          row: '3b',
          what: `cold decision: ${settings.sessions} distinct sessions, cache off, PostgreSQL`,
          min: 0.15,
          env: cold(url),
          source: allSessions,
          expect: 200,
        });
      }
    }
    if (settings.only.has('denial')) {
      // Garbage first (what the issue names), then the attacker who knows Django's key format.
      await addRow({
        id: 'denial',
        row: '4a',
        what: 'denial: a new garbage cookie every request (64 random base64url characters), SQLite',
        min: 0.7,
        env: { FLOWERGATE_DJANGO_DATABASE_URL: sqliteUrl },
        source: {
          kind: 'random-key',
          template: authRequest(RANDOM_KEY),
          alphabet: BASE64URL_ALPHABET,
          length: 64,
        },
        expect: 401,
      });
      await addRow({
        id: 'denial-keys',
        row: '4b',
        what: 'denial: a new well-formed session key every request (32 of [a-z0-9]: a query each), SQLite',
        min: 0.7,
        env: { FLOWERGATE_DJANGO_DATABASE_URL: sqliteUrl },
        source: { kind: 'random-key', template: authRequest(RANDOM_KEY) },
        expect: 401,
      });
    }
    for (const t of targets) await preflight(t);
    const results = await measure(targets, settings.connections);
    compare(
      results,
      { id: 'ceiling', row: '1', what: 'ceiling: bare node:http answering 200' },
      rows,
      settings.connections,
      'ceiling',
    );
    await Promise.all(processes.splice(0).map((p) => p.stop()));
  }

  // Row 5: behind nginx auth_request (ingress-nginx's configuration, keep-alive pool to the auth service).
  if (settings.only.has('nginx')) {
    log('\n== row 5: behind nginx auth_request vs the same nginx with a bare node:http auth backend');
    let nginxBin: string | null = null;
    try {
      nginxBin = assertNginx();
    } catch (error) {
      skip('5', 'behind nginx auth_request', (error as Error).message);
    }
    if (nginxBin) {
      versions.nginx ??= 'unknown version';
      const upstream = await startBare('upstream', 'upstream');
      const bareAuth = await startBare('bare-auth', 'empty');
      const fg = await startFlowergate('flowergate-nginx', { FLOWERGATE_DJANGO_DATABASE_URL: sqliteUrl });
      const viaBare = await onServerCpu(() =>
        startNginx({ authUrl: `${bareAuth.origin}/_flowergate/auth/nginx`, upstream: upstream.origin }),
      );
      const viaFg = await onServerCpu(() =>
        startNginx({ authUrl: `${fg.origin}/_flowergate/auth/nginx`, upstream: upstream.origin }),
      );
      nginxes.push(viaBare, viaFg);
      const source = one({
        ...pageRequest(superuserKey),
        headers: { ...pageRequest(superuserKey).headers, Host: 'flower.example.com' },
      });
      const targets: Target[] = [
        {
          id: 'nginx → bare auth',
          origin: viaBare.url,
          source,
          expect: 200,
          pid: bareAuth.proc.pid,
          cpuPids: () => [...nginxPids(viaBare), bareAuth.proc.pid, upstream.proc.pid],
        },
        {
          id: 'nginx → flowergate',
          origin: viaFg.url,
          source,
          expect: 200,
          pid: fg.proc.pid,
          cpuPids: () => [...nginxPids(viaFg), fg.proc.pid, upstream.proc.pid],
        },
      ];
      for (const t of targets) await preflight(t);
      const results = await measure(targets, settings.connections);
      compare(
        results,
        {
          id: 'nginx → bare auth',
          row: '5',
          what: 'nginx auth_request → bare node:http auth backend (RSS: the backend)',
        },
        [
          {
            id: 'nginx → flowergate',
            row: '5',
            what: 'nginx auth_request → flowergate, warm session (RSS: flowergate)',
            min: 0.8,
            flowergate: true,
          },
        ],
        settings.connections,
        'nginx→bare',
      );
      await Promise.all([
        ...processes.splice(0).map((p) => p.stop()),
        ...nginxes.splice(0).map((n) => n.stop()),
      ]);
    }
  }

  // Row 6: the sidecar proxy vs a minimal pipe proxy vs the upstream directly.
  if (settings.only.has('sidecar')) {
    log('\n== row 6: sidecar proxy vs a minimal node:http pipe proxy vs the upstream directly');
    const upstream = await startBare('upstream', 'upstream');
    const pipePort = await freePort();
    const pipe = await startNode(
      'pipe-proxy',
      ['bench/servers/pipe-proxy.ts', String(pipePort), upstream.origin],
      pipePort,
    );
    const pipeOrigin = `http://127.0.0.1:${pipePort}`;
    const source = one(pageRequest(superuserKey));
    const targets: Target[] = [
      { id: 'upstream direct', origin: upstream.origin, source, expect: 200, pid: upstream.proc.pid },
      {
        id: 'pipe proxy',
        origin: pipeOrigin,
        source,
        expect: 200,
        pid: pipe.pid,
        cpuPids: () => [pipe.pid, upstream.proc.pid],
      },
    ];
    let sidecarProblem: string | null = null;
    let sidecar: { proc: ManagedProcess; origin: string } | null = null;
    if (!existsSync(join(REPO, 'src/proxy/sidecar.ts'))) {
      sidecarProblem = 'not available: src/proxy/sidecar.ts does not exist yet';
    } else {
      try {
        sidecar = await startFlowergate('flowergate-sidecar', {
          FLOWERGATE_DJANGO_DATABASE_URL: sqliteUrl,
          FLOWERGATE_UPSTREAM: upstream.origin,
        });
        const t: Target = {
          id: 'sidecar',
          origin: sidecar.origin,
          source,
          expect: 200,
          pid: sidecar.proc.pid,
          cpuPids: () => [sidecar!.proc.pid, upstream.proc.pid],
        };
        await preflight(t);
        targets.push(t);
      } catch (error) {
        sidecarProblem = `not available: ${(error as Error).message.split('\n')[0]}`;
      }
    }
    for (const t of targets) await preflight(t);
    const connections = [1, ...settings.connections.filter((c) => c !== 1)];
    const results = await measure(targets, connections);
    for (const c of connections) {
      const direct = get(results, 'upstream direct', c);
      const pipeS = get(results, 'pipe proxy', c);
      const side = get(results, 'sidecar', c);
      lines.push({
        row: '6',
        what: 'upstream directly (static 1 KiB answer)',
        connections: String(c),
        summary: direct,
        ratio: 'baseline',
        checks: [],
      });
      lines.push({
        row: '6',
        what: 'minimal node:http pipe proxy → upstream',
        connections: String(c),
        summary: pipeS,
        ratio: pipeS && direct ? `${fmtRatio(pipeS.rps.median / direct.rps.median)} direct` : '–',
        checks: [],
      });
      if (!side) {
        lines.push({
          row: '6',
          what: 'flowergate sidecar → upstream',
          connections: String(c),
          summary: null,
          ratio: '–',
          checks: [],
          note: sidecarProblem ?? 'no result',
        });
        continue;
      }
      const checks: Check[] = [];
      let ratio = '–';
      if (c === 1 && direct) {
        const added = side.p50Ms - direct.p50Ms;
        ratio = `+${fmtMs(added)} ms p50 over direct`;
        checks.push({ text: 'added p50 ≤ 0.5 ms', pass: added <= 0.5 });
      } else if (pipeS) {
        const r = side.rps.median / pipeS.rps.median;
        ratio = `${fmtRatio(r)} pipe${cpuRatio(pipeS, side)}`;
        checks.push(ratioCheck(r, 0.75));
      }
      checks.push(...rssCheck(side));
      if (side.problems.length) checks.push({ text: 'no errors', pass: false });
      lines.push({
        row: '6',
        what: 'flowergate sidecar → upstream, warm session',
        connections: String(c),
        summary: side,
        ratio,
        checks,
      });
    }
    if (sidecarProblem) skipped.push(`6 sidecar: ${sidecarProblem}`);

    // A large streamed answer: memory must not grow with the answer's size (fast reader, compared with the
    // pipe proxy doing the same), and backpressure must hold (slow reader: the proxy must not buffer).
    const growth = new Map<string, number>();
    for (const [name, origin, pid] of [
      ['pipe proxy', pipeOrigin, pipe.pid],
      ...(sidecar ? [['flowergate sidecar', sidecar.origin, sidecar.proc.pid] as const] : []),
    ] as const) {
      for (const [mib, slow] of [
        [512, false],
        [32, true],
      ] as const) {
        const r = await stream(`${origin}/large?mib=${mib}`, pid, slow);
        const grew = r.peakMiB - r.beforeMiB;
        const reader = slow ? 'slow' : 'fast';
        growth.set(`${name} ${reader}`, grew);
        const pipeGrew = growth.get(`pipe proxy ${reader}`) ?? 0;
        const limit = slow ? 16 : pipeGrew + 16;
        const flowergate = name.startsWith('flowergate');
        lines.push({
          row: '6',
          what: `${name}: ${mib} MiB streamed to a ${slow ? 'slow (~6 MiB/s)' : 'fast'} reader — ${r.mibPerS.toFixed(0)} MiB/s; RSS ${r.beforeMiB.toFixed(0)} → peak ${r.peakMiB.toFixed(0)} MiB`,
          connections: '1',
          summary: null,
          ratio: `+${grew.toFixed(1)} MiB`,
          checks: flowergate
            ? [
                {
                  text: slow ? 'RSS grows < 16 MiB' : `RSS grows < pipe proxy's + 16 MiB`,
                  pass: grew < limit && r.ok,
                },
                { text: `RSS ≤ ${RSS_LIMIT_MIB} MiB`, pass: r.peakMiB <= RSS_LIMIT_MIB },
              ]
            : [],
          ...(r.ok ? {} : { note: `incomplete: ${r.bytes} bytes` }),
        });
      }
    }
    await Promise.all(processes.splice(0).map((p) => p.stop()));
  }

  // -------------------------------------------------------------------------------------- output
  const table = renderTable(lines);
  const failed = lines.filter((l) => l.checks.some((c) => !c.pass));
  const environment = [
    `- date: ${started.toISOString().replace(/\.\d+Z$/, 'Z')}`,
    `- machine: ${machine.cpus} CPUs (${machine.model}), ${machine.memoryGiB} GiB, ${machine.kernel}; load average at start ${machine.loadAverage}`,
    `- Node ${machine.node} (the same binary for flowergate and every Node baseline); SQLite ${versions.sqlite}; PostgreSQL ${versions.postgres ?? 'not used'}; nginx ${versions.nginx ?? 'not installed'}`,
    `- load generator: ${generator.name === 'wrk' ? `wrk ${versions.wrk} (1 thread)` : generator.name}; ${settings.seconds} s per run after ${settings.warmup} s of warm-up; ${settings.repeats} runs per line, median (min–max); keep-alive, no pipelining`,
    `- CPUs: ${typeof pinning === 'string' ? `not pinned (${pinning})` : `load generator on CPU ${pinning.generator}, every server process (flowergate, baselines, nginx, upstreams) on CPU ${pinning.server} (taskset); PostgreSQL's own processes are not pinned`}`,
    `- flowergate: default settings unless the row says otherwise (audit log at info, to /dev/null: every forbidden user, error and fresh verdict, unauthenticated decisions up to 100 a second, repeated reads on a cached verdict sampled at 0); started as the image starts it (bin/flowergate.js); every Node process with a warm compile cache (NODE_COMPILE_CACHE, primed once); peak RSS is the server process's VmHWM`,
    ...(Object.keys(settings.fgEnv).length || settings.fgNodeFlags.length
      ? [
          `- flowergate overrides for this run: ${[...Object.entries(settings.fgEnv).map(([k, v]) => `${k}=${v}`), ...settings.fgNodeFlags].join(' ')}`,
        ]
      : []),
  ].join('\n');
  process.stdout.write(`\n${renderText(table)}\n\n${environment}\n`);
  if (skipped.length) process.stdout.write(`\nSKIPPED:\n${skipped.map((s) => `- ${s}`).join('\n')}\n`);
  const missed = failed.map(
    (l) =>
      `${l.row} @${l.connections}: ${l.checks
        .filter((c) => !c.pass)
        .map((c) => c.text)
        .join(', ')}`,
  );
  process.stdout.write(
    missed.length
      ? `\nTargets missed:\n${missed.map((m) => `- ${m}`).join('\n')}\n`
      : '\nEvery measured target met.\n',
  );
  if (args.write) {
    if (args.quick) log('NOTE: writing a --quick run to docs/benchmarks.md');
    mkdirSync(join(REPO, 'docs'), { recursive: true });
    writeFileSync(join(REPO, 'docs/benchmarks.md'), renderDoc(table, environment, failed.length, skipped));
    log('wrote docs/benchmarks.md');
  }
} finally {
  await cleanup();
}

// ---------------------------------------------------------------------------------- helpers

/** GETs a large answer, reading fast or slowly, and samples the server's RSS while it streams. */
async function stream(
  url: string,
  pid: number,
  slow: boolean,
): Promise<{ mibPerS: number; beforeMiB: number; peakMiB: number; bytes: number; ok: boolean }> {
  const before = memoryOf(pid)?.rssKiB ?? 0;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, memoryOf(pid)?.rssKiB ?? 0);
  }, 20);
  const started = performance.now();
  try {
    const { bytes, expected } = await new Promise<{ bytes: number; expected: number }>((resolve, reject) => {
      const request = http.get(url, { agent: false, headers: pageRequest(superuserKey).headers }, (res) => {
        let bytes = 0;
        const expected = Number(res.headers['content-length'] ?? -1);
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (slow) {
            // ~64 KiB every 10 ms: about 6 MiB/s, far slower than the upstream sends.
            res.pause();
            setTimeout(() => res.resume(), 10 * (chunk.length / 65536));
          }
        });
        res.on('end', () => resolve({ bytes, expected }));
        res.on('error', reject);
      });
      request.on('error', reject);
    });
    const seconds = (performance.now() - started) / 1000;
    peak = Math.max(peak, memoryOf(pid)?.rssKiB ?? 0);
    return {
      mibPerS: bytes / 2 ** 20 / seconds,
      beforeMiB: before / 1024,
      peakMiB: peak / 1024,
      bytes,
      ok: bytes === expected,
    };
  } finally {
    clearInterval(timer);
  }
}
