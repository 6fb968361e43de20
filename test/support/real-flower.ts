// The real Celery Flower 2.1.0 (the unmodified release in ../shared/flower/, next to the repository), for the
// presets' route-coverage test and the end-to-end journeys. Debian packages only: see FLOWER_PACKAGES.
//
//   const routes = flowerRouteTable();   // every route in flower/urls.py with the methods its handler answers
//   const flower = await startRealFlower({ prefixes: ['', 'flower'], t });   // one Redis, one worker, two Flowers
//   await fetch(`${flower.instances[1].base}/api/workers`);

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PYTHON } from './flower-upstream.ts';
import {
  freePort,
  type ManagedProcess,
  MissingToolError,
  makeTempDir,
  probe,
  removeDir,
  requireBinary,
  startProcess,
  type Teardown,
} from './processes.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** ../shared/flower: Flower's source, labapp.py and run-flower.sh. */
export const FLOWER_DIR = process.env.FLOWERGATE_TEST_FLOWER_DIR ?? join(ROOT, '../shared/flower');
export const FLOWER_SOURCE = join(FLOWER_DIR, 'flower-2.1.0');
export const FLOWER_PACKAGES =
  'python3-celery python3-kombu python3-tornado python3-prometheus-client python3-humanize python3-tz python3-redis redis-server';

/** For toolTest(): Flower's source and the Debian packages it imports. */
export const realFlowerTool = {
  name: 'Celery Flower 2.1.0',
  check: () => {
    if (!existsSync(join(FLOWER_SOURCE, 'flower/urls.py')))
      throw new MissingToolError(
        `Flower's source at ${FLOWER_SOURCE}`,
        'nothing',
        'set FLOWERGATE_TEST_FLOWER_DIR',
      );
    const r = probe(PYTHON, ['-c', 'import celery, tornado, redis, prometheus_client, humanize, pytz']);
    if (r.status !== 0)
      throw new MissingToolError('Flower’s Python modules', FLOWER_PACKAGES, r.output.trim());
  },
};

/** One Flower route as Tornado holds it, with the methods its handler class implements. */
export interface FlowerRouteInfo {
  /** As urls.py writes it (Tornado's trailing `$` removed). */
  route: string;
  handler: string;
  /** Methods the class overrides from RequestHandler; Tornado answers 405 to the rest. */
  methods: string[];
  /** The class picks another class at construction (`__new__`), so its methods say nothing. */
  dynamic: boolean;
}

const INTROSPECT = `
import json
from tornado.web import RequestHandler, URLSpec
from flower.urls import handlers
out = []
for h in handlers:
    pattern, cls = (h.regex.pattern, h.handler_class) if isinstance(h, URLSpec) else (h[0], h[1])
    if pattern.endswith('$'):
        pattern = pattern[:-1]
    methods = [m for m in RequestHandler.SUPPORTED_METHODS
               if getattr(cls, m.lower()) is not getattr(RequestHandler, m.lower())]
    out.append(dict(route=pattern, handler=cls.__module__ + '.' + cls.__name__, methods=methods,
                    dynamic='__new__' in cls.__dict__))
print(json.dumps(out))
`;

/** Flower's route table, read by importing flower/urls.py with Debian's Python and Tornado. */
export function flowerRouteTable(): FlowerRouteInfo[] {
  const r = probe('/usr/bin/env', [
    `PYTHONPATH=${FLOWER_SOURCE}`,
    'PYTHONDONTWRITEBYTECODE=1',
    PYTHON,
    '-c',
    INTROSPECT,
  ]);
  if (r.status !== 0) throw new Error(`reading Flower's routes failed:\n${r.output}`);
  // The JSON is the last line; warnings (stderr, merged) may come before it.
  return JSON.parse(r.output.trim().split('\n').at(-1) ?? '') as FlowerRouteInfo[];
}

// ---- a running Flower ----------------------------------------------------------------------------------------

/** One Flower process; several share a Redis and a worker. */
export interface RealFlowerInstance {
  /** `http://127.0.0.1:<port>`: what FLOWERGATE_UPSTREAM or a proxy's upstream takes. */
  url: string;
  /** '' or '/flower'. */
  prefix: string;
  /** url + prefix; the dashboard is `${base}/`. */
  base: string;
  log(): string;
}

export interface RealFlower {
  /** In the order of RealFlowerOptions.prefixes. */
  instances: RealFlowerInstance[];
  /** The worker's name as Flower lists it (`lab1@<host>`). */
  worker: string;
  workerLog(): string;
  /** Stops every process group (Flowers, worker, Redis) and removes the temp dir; idempotent. */
  stop(): Promise<void>;
}

export interface RealFlowerOptions {
  /** One Flower per entry, as --url_prefix (`''` for none, `'flower'`); default `['']`. */
  prefixes?: readonly string[];
  /** ava's `t`: registers stop() with t.teardown. */
  t?: Teardown;
}

/**
 * Redis, one Celery worker (labapp.py: `labapp.add`, `labapp.sleep`) and a Flower per prefix, on free ports in
 * a temp dir, as ../shared/flower/run-flower.sh starts them — but each through startProcess, so each is its own
 * process group that stop(), a crash or a SIGKILL of the test process always ends. Returns once every Flower
 * lists the worker as online and its inspector holds the worker's stats (so the worker page renders and control
 * calls know the worker).
 */
export async function startRealFlower(options: RealFlowerOptions = {}): Promise<RealFlower> {
  realFlowerTool.check();
  const redisServer = requireBinary('redis-server', 'redis-server');
  const dir = makeTempDir('real-flower');
  const started: ManagedProcess[] = [];
  const stop = async () => {
    for (const proc of started.reverse()) await proc.stop();
    started.length = 0;
    removeDir(dir);
  };
  try {
    const redisPort = await freePort();
    started.push(
      await startProcess(
        redisServer,
        [
          '--port',
          String(redisPort),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
        ],
        { name: 'redis-server', readyPort: redisPort, removeOnOrphan: [dir] },
      ),
    );
    const env = {
      ...process.env,
      PYTHONDONTWRITEBYTECODE: '1',
      PYTHONUNBUFFERED: '1',
      PYTHONPATH: `${FLOWER_SOURCE}:${FLOWER_DIR}`,
      FLOWER_LAB_REDIS: `redis://127.0.0.1:${redisPort}`,
      FLOWER_UNAUTHENTICATED_API: 'true', // the gate in front is what protects it, as in production
    };
    const instances: RealFlowerInstance[] = [];
    for (const wanted of options.prefixes ?? ['']) {
      const bare = wanted.replace(/^\/+|\/+$/g, '');
      const port = await freePort();
      const proc = await startProcess(
        PYTHON,
        [
          '-m',
          'flower',
          '-A',
          'labapp',
          'flower',
          '--address=127.0.0.1',
          `--port=${port}`,
          ...(bare ? [`--url_prefix=${bare}`] : []),
        ],
        { name: `flower${bare ? ` /${bare}` : ''}`, cwd: dir, env, readyPort: port, timeoutMs: 30_000 },
      );
      started.push(proc);
      const url = `http://127.0.0.1:${port}`;
      const prefix = bare ? `/${bare}` : '';
      instances.push({ url, prefix, base: url + prefix, log: () => proc.stderr() + proc.stdout() });
    }
    // After the Flowers: a worker that starts later is seen through its events (run-flower.sh does the same).
    const worker = await startProcess(
      PYTHON,
      ['-m', 'celery', '-A', 'labapp', 'worker', '-E', '--loglevel=INFO', '--concurrency=2', '-n', 'lab1@%h'],
      {
        name: 'celery worker',
        cwd: dir,
        env,
        readyLine: /\bready\.?$/,
        readyStream: 'both',
        timeoutMs: 60_000,
      },
    );
    started.push(worker);
    let name = '';
    for (const flower of instances) name = await waitForWorker(flower.base);
    options.t?.teardown(stop);
    return { instances, worker: name, workerLog: () => worker.stderr() + worker.stdout(), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Waits until Flower lists a worker as online, then refreshes its inspector cache; returns the worker's name. */
async function waitForWorker(base: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = await fetch(`${base}/api/workers?status=1`)
      .then((r) => (r.ok ? (r.json() as Promise<Record<string, boolean>>) : {}))
      .catch(() => ({}));
    const online = Object.entries(status).find(([, up]) => up)?.[0];
    if (online) {
      const refresh = await fetch(`${base}/api/workers?refresh=1`);
      if (!refresh.ok) throw new Error(`${base}/api/workers?refresh=1: ${refresh.status}`);
      // Flower's worker page is a 404 until its inspector holds the worker's stats, and an inspect
      // reply that misses Flower's 1 s --inspect_timeout (a busy machine) leaves them out.
      const workers = (await refresh.json()) as Record<string, Record<string, unknown>>;
      if (workers[online]?.['stats']) return online;
    }
    if (Date.now() > deadline)
      throw new Error(`no worker online with its stats in Flower at ${base} within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
