// The servers a bench run starts (flowergate, the Node baselines, nginx), pinned to the server CPU, and
// their cleanup. flowergate may be started inside a memory cgroup, as a container with a limit runs it.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Nginx } from '../test/support/nginx.ts';
import {
  freePort,
  type ManagedProcess,
  makeTempDir,
  removeDir,
  startProcess,
  which,
} from '../test/support/processes.ts';
import { createMemoryCgroup, type MemoryCgroup } from './cgroup.ts';
import { log, REPO, settings } from './settings.ts';
import { choosePinning, type Pinning, pinned, processTree, toolVersion } from './system.ts';

export const pinning: Pinning | string = choosePinning();
if (typeof pinning === 'string') log(`NOTE: not pinning CPUs: ${pinning}`);

export const versions = {
  wrk: which('wrk') ? toolVersion('wrk', ['-v'], /wrk (\S+)/) : null,
  nginx: toolVersion('nginx', ['-v'], /nginx\/(\S+)/),
  sqlite: (() => {
    const db = new DatabaseSync(':memory:');
    const v = (db.prepare('select sqlite_version() as v').get() as { v: string }).v;
    db.close();
    return v;
  })(),
  postgres: null as string | null,
};

export const dir = makeTempDir('bench');
const processes: ManagedProcess[] = [];
const nginxes: Nginx[] = [];
const cgroups: MemoryCgroup[] = [];
let cleaned = false;

/** Stops what the current row started (servers, nginx) and removes its memory groups. */
export async function stopAll(): Promise<void> {
  await Promise.all([...processes.splice(0).map((p) => p.stop()), ...nginxes.splice(0).map((n) => n.stop())]);
  for (const group of cgroups.splice(0)) group.remove();
}
export const cleanup = async () => {
  if (cleaned) return;
  cleaned = true;
  await stopAll();
  removeDir(dir);
};
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

export const trackNginx = (nginx: Nginx) => nginxes.push(nginx);

// Every Node process (flowergate and the baselines) runs with a warm compile cache, as flowergate does
// from its second start in a pod (bin/flowergate.js): Node's TypeScript stripper is then never loaded.
const compileCache = join(dir, 'compile-cache');
export const cleanEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLOWERGATE_'))),
  NODE_COMPILE_CACHE: compileCache,
};

export interface StartOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Joins this memory group before `exec`, so the process and everything it starts are charged to it. */
  readonly cgroup?: MemoryCgroup;
  /** Extra node flags (before the script). */
  readonly nodeFlags?: readonly string[];
}

/** A Node script on the server CPU, its stdout discarded (flowergate's audit log goes to /dev/null). */
export async function startNode(
  name: string,
  script: string[],
  port: number,
  options: StartOptions = {},
): Promise<ManagedProcess> {
  const flowergate = name.startsWith('flowergate');
  const flags = [
    ...(settings.cpuProf && flowergate
      ? ['--cpu-prof', `--cpu-prof-dir=${settings.cpuProf}`, `--cpu-prof-name=${name}.cpuprofile`]
      : []),
    ...(flowergate ? settings.fgNodeFlags : []),
    ...(options.nodeFlags ?? []),
  ];
  const join = options.cgroup ? `echo $$ > '${options.cgroup.procsFile}' && ` : '';
  const argv = pinned(pinning, 'server', [
    '/bin/sh',
    '-c',
    `${join}exec "$@" >/dev/null`,
    'sh',
    process.execPath,
    ...flags,
    ...script,
  ]);
  const proc = await startProcess(argv[0]!, argv.slice(1), {
    name,
    env: options.env ?? cleanEnv,
    cwd: REPO,
    readyPort: port,
    timeoutMs: 30_000,
    graceMs: 10_000,
  });
  processes.push(proc);
  return proc;
}

export async function startBare(name: string, mode: 'empty' | 'upstream') {
  const port = await freePort();
  const proc = await startNode(name, ['bench/servers/bare.ts', String(port), mode], port);
  return { proc, origin: `http://127.0.0.1:${port}` };
}

export interface Flowergate {
  readonly proc: ManagedProcess;
  readonly origin: string;
  readonly adminOrigin: string;
  /** The memory group it runs in, when limited. */
  readonly cgroup?: MemoryCgroup;
}

export interface FlowergateOptions {
  readonly root?: string;
  /** Run inside a memory cgroup of this many bytes, with the image's NODE_OPTIONS and node flags. */
  readonly limitBytes?: number;
  /** NODE_OPTIONS inside the limit (default: the image's). */
  readonly nodeOptions?: string;
  readonly nodeFlags?: readonly string[];
}

export const secretKey = `bench-${(await import('node:crypto')).randomBytes(24).toString('base64url')}`;

export async function startFlowergate(
  name: string,
  env: Record<string, string>,
  options: FlowergateOptions = {},
): Promise<Flowergate> {
  const port = await freePort();
  const admin = await freePort();
  let cgroup: MemoryCgroup | undefined;
  if (options.limitBytes !== undefined) {
    const made = createMemoryCgroup(`fg-bench-${name.replaceAll(/[^a-z0-9-]/gi, '')}`, options.limitBytes);
    if (typeof made === 'string') throw new Error(`no memory limit: ${made}`);
    cgroup = made;
    cgroups.push(made);
  }
  const proc = await startNode(name, [join(options.root ?? REPO, 'bin/flowergate.js'), 'serve'], port, {
    env: {
      ...cleanEnv,
      ...(cgroup && (options.nodeOptions ?? settings.imageNodeOptions)
        ? { NODE_OPTIONS: options.nodeOptions ?? settings.imageNodeOptions }
        : {}),
      FLOWERGATE_DJANGO_SECRET_KEY: secretKey,
      FLOWERGATE_LISTEN: `127.0.0.1:${port}`,
      FLOWERGATE_ADMIN_LISTEN: `127.0.0.1:${admin}`,
      ...env,
      ...settings.fgEnv,
    },
    ...(cgroup ? { cgroup } : {}),
    nodeFlags: [...(cgroup ? settings.imageNodeFlags : []), ...(options.nodeFlags ?? [])],
  });
  return {
    proc,
    origin: `http://127.0.0.1:${port}`,
    adminOrigin: `http://127.0.0.1:${admin}`,
    ...(cgroup ? { cgroup } : {}),
  };
}

/** nginx's master and worker processes. */
export function nginxPids(nginx: Nginx): number[] {
  try {
    return processTree(Number(readFileSync(join(nginx.dir, 'nginx.pid'), 'utf8').trim()));
  } catch {
    return [];
  }
}

/** Runs `fn` with this process pinned to the server CPU, so what it spawns (nginx) runs there. */
export async function onServerCpu<T>(fn: () => Promise<T>): Promise<T> {
  if (typeof pinning === 'string') return await fn();
  spawnSync(pinning.taskset, ['-p', '-c', pinning.server, String(process.pid)], { stdio: 'ignore' });
  try {
    return await fn();
  } finally {
    spawnSync(pinning.taskset, ['-a', '-p', '-c', pinning.generator, String(process.pid)], {
      stdio: 'ignore',
    });
  }
}

/** Primes the compile cache: one start of each server, flowergate in sidecar mode (it loads the most). */
export async function primeCompileCache(sqliteUrl: string): Promise<void> {
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
}
