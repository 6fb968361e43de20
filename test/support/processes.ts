// Child processes for end-to-end tests: start one, wait until it is ready, stop it for sure.
//
//   const p = await startProcess('caddy', ['run', ...], { readyPort: port, t });   // t: ava context, optional
//   ...
//   await p.stop();   // or let t.teardown do it
//
// Every child runs in its own process group (detached), so stop() reaches its children too (nginx workers).
// If the test process exits without stopping them (a crash, process.exit), an 'exit' hook SIGKILLs every group
// still alive; SIGINT/SIGTERM/SIGHUP do the same before the default action; and if it is SIGKILLed, a small
// guard process notices and kills the group (see spawnGuard).

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The part of ava's ExecutionContext the helpers use: pass `t` and the helper registers its own stop(). */
export interface Teardown {
  teardown(fn: () => Promise<void>): void;
}

/** A binary or module the test needs is not installed. The message names the Debian package to install. */
export class MissingToolError extends Error {
  readonly tool: string;
  readonly install: string;

  constructor(tool: string, debianPackage: string, detail?: string) {
    const install = `apt-get install -y ${debianPackage}`;
    super(`${tool} is not available${detail ? ` (${detail})` : ''} — install with: ${install}`);
    this.name = 'MissingToolError';
    this.tool = tool;
    this.install = install;
  }
}

const EXTRA_BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of an executable, searched in PATH and then the sbin/bin dirs; undefined when absent. */
export function which(binary: string): string | undefined {
  const isExecutable = (file: string): boolean => {
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  };
  if (binary.includes('/')) return isExecutable(binary) ? binary : undefined;
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_BIN_DIRS];
  for (const dir of dirs) {
    const file = join(dir, binary);
    if (isExecutable(file)) return file;
  }
  return undefined;
}

/** Like which(), but throws MissingToolError naming the Debian package when the binary is absent. */
export function requireBinary(binary: string, debianPackage: string): string {
  const file = which(binary);
  if (!file) throw new MissingToolError(binary, debianPackage, 'not found on PATH nor in /usr/sbin, /sbin');
  return file;
}

/**
 * Runs a command to completion (for probes such as `nginx -V`); returns stdout+stderr and the status. Bounded
 * (60 s), but generously: on a busy machine `python3 -c 'import tornado'` can take over 10 s, and a probe that
 * times out would report an installed tool as missing.
 */
export function probe(file: string, args: string[]): { status: number | null; output: string } {
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 60_000 });
  const timedOut =
    r.error && 'code' in r.error && r.error.code === 'ETIMEDOUT' ? ' (timed out after 60 s)' : '';
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}${timedOut}` };
}

/**
 * A TCP port that was free a moment ago on `host` (bind port 0, read it, release it). Another process may take
 * it before you bind it: helpers that must write the port into a config file retry on "address in use".
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('freePort: no address'));
      });
    });
  });
}

/** A fresh directory under the OS temp dir; remove it with removeDir(). */
export function makeTempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `flowergate-${label}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The promise's value, or 'timeout' after ms; the timer is cleared either way (so it holds no event loop). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once `host:port` accepts a TCP connection; rejects after timeoutMs or when `alive()` turns false. */
export async function waitForPort(
  port: number,
  options: { host?: string; timeoutMs?: number; alive?: () => boolean } = {},
): Promise<void> {
  const { host = '127.0.0.1', timeoutMs = 15_000, alive = () => true } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host });
      socket.setTimeout(1000);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (!alive()) throw new Error(`the process exited before ${host}:${port} accepted connections`);
    if (Date.now() > deadline)
      throw new Error(`${host}:${port} did not accept connections within ${timeoutMs} ms`);
    await sleep(25);
  }
}

export interface StartOptions {
  /** Shown in error messages; defaults to the command's base name. */
  name?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Ready when this port on readyHost (default 127.0.0.1) accepts a TCP connection. */
  readyPort?: number;
  readyHost?: string;
  /** Ready when a line of output matches; the match is in `readyMatch`. */
  readyLine?: RegExp;
  /** Where readyLine is looked for: 'stdout' (default), 'stderr' or 'both'. */
  readyStream?: 'stdout' | 'stderr' | 'both';
  /** How long to wait for readiness (default 15 s). On timeout the process is killed and the error quotes stderr. */
  timeoutMs?: number;
  /** Signal for stop() (default SIGTERM), then SIGKILL after graceMs (default 3000). */
  stopSignal?: NodeJS.Signals;
  graceMs?: number;
  /** 'pipe' keeps the child's stdin open until it is stopped, so a child that watches it can exit when we die. */
  stdin?: 'ignore' | 'pipe';
  /** Paths the orphan guard removes if this test process dies without stopping the child (temp dirs). */
  removeOnOrphan?: string[];
  /** ava's `t`: registers stop() with t.teardown. */
  t?: Teardown;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** The readyLine match, when readyLine was given. */
  readonly readyMatch: RegExpMatchArray | undefined;
  /** The last 64 KiB of each output stream. */
  stdout(): string;
  stderr(): string;
  /** Whether the process has exited, and how. */
  exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Resolves when it has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** stopSignal to the whole process group, SIGKILL after graceMs; idempotent; never rejects. */
  stop(): Promise<void>;
}

const TAIL_BYTES = 64 * 1024;
const live = new Set<number>();
let hooksInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const pid of live) killGroup(pid, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      for (const pid of live) killGroup(pid, 'SIGKILL');
      process.removeListener(signal, onSignal);
      // re-raise only when nobody else (ava) handles it, so the default action still happens
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/**
 * A `sh` in its own process group that reads its stdin, which only this process holds open: when this process
 * dies without stop() (even by SIGKILL, which no hook sees), the read ends, and the guard SIGKILLs the child's
 * process group and removes `paths`. stop() kills the guard once the group is gone.
 */
function spawnGuard(pgid: number, paths: string[]): ChildProcess {
  const script = 'read _; kill -KILL "-$1" 2>/dev/null; shift; [ "$#" -gt 0 ] && rm -rf -- "$@"; exit 0';
  const guard = spawn('/bin/sh', ['-c', script, 'orphan-guard', String(pgid), ...paths], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  guard.on('error', () => {});
  guard.stdin?.on('error', () => {});
  return guard;
}

/** The last `lines` lines of a text, for error messages. */
export function tail(text: string, lines = 30): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

/**
 * Spawns `command` and waits until it is ready (readyPort and/or readyLine; with neither, as soon as it spawned).
 * Throws, after killing it, if it exits first or does not get ready in time; the error quotes its stderr tail.
 */
export async function startProcess(
  command: string,
  args: string[],
  options: StartOptions = {},
): Promise<ManagedProcess> {
  const name = options.name ?? command.split('/').pop() ?? command;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const graceMs = options.graceMs ?? 3000;
  const stopSignal = options.stopSignal ?? 'SIGTERM';
  installHooks();

  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const spawned = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', (err) => resolve(err));
  });
  if (spawned || child.pid === undefined) {
    throw new Error(`${name}: could not start ${command}: ${spawned?.message ?? 'no pid'}`);
  }
  const pid = child.pid;
  live.add(pid);
  const guard = spawnGuard(pid, options.removeOnOrphan ?? []);

  let out = '';
  let err = '';
  let status: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      status = { code, signal };
      resolve(status);
    });
  });
  // 'exit' can come before the last output; 'close' means the pipes are drained too
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));

  const lineWaiters: Array<(line: string) => boolean> = [];
  const feed = (stream: 'stdout' | 'stderr') => {
    let partial = '';
    return (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      if (stream === 'stdout') out = (out + text).slice(-TAIL_BYTES);
      else err = (err + text).slice(-TAIL_BYTES);
      const want = options.readyStream ?? 'stdout';
      if (want !== 'both' && want !== stream) return;
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        for (let i = lineWaiters.length - 1; i >= 0; i--)
          if (lineWaiters[i]?.(line)) lineWaiters.splice(i, 1);
      }
    };
  };
  child.stdout?.on('data', feed('stdout'));
  child.stderr?.on('data', feed('stderr'));

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!status) {
        killGroup(pid, stopSignal);
        if ((await within(exited, graceMs)) === 'timeout') {
          killGroup(pid, 'SIGKILL');
          await within(exited, 5000);
        }
      }
      killGroup(pid, 'SIGKILL'); // stragglers left in the group
      live.delete(pid);
      guard.kill('SIGKILL');
      guard.stdin?.destroy();
      child.stdin?.destroy();
      await within(closed, 1000);
    })();
    return stopping;
  };
  options.t?.teardown(stop);

  const describe = () => {
    const parts = [];
    if (options.readyPort !== undefined)
      parts.push(`port ${options.readyHost ?? '127.0.0.1'}:${options.readyPort}`);
    if (options.readyLine) parts.push(`a line matching ${options.readyLine}`);
    return parts.join(' and ');
  };
  const fail = async (why: string): Promise<never> => {
    await stop();
    const stderr = tail(err) || '(empty)';
    const stdout = tail(out, 10);
    throw new Error(
      `${name} (${[command, ...args].join(' ')}) ${why}\n--- stderr tail ---\n${stderr}` +
        (stdout ? `\n--- stdout tail ---\n${stdout}` : ''),
    );
  };

  let readyMatch: RegExpMatchArray | undefined;
  const waits: Promise<unknown>[] = [];
  if (options.readyLine) {
    const re = options.readyLine;
    waits.push(
      new Promise<void>((resolve) => {
        lineWaiters.push((line) => {
          const m = line.match(re);
          if (!m) return false;
          readyMatch = m;
          resolve();
          return true;
        });
      }),
    );
  }
  if (options.readyPort !== undefined) {
    waits.push(
      waitForPort(options.readyPort, {
        host: options.readyHost ?? '127.0.0.1',
        timeoutMs: timeoutMs + 1000,
        alive: () => !status && !stopping,
      }),
    );
  }
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    Promise.all(waits).then(
      () => 'ready' as const,
      (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
    ),
    exited.then(() => 'exited' as const),
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (outcome === 'exited' || status) {
    await within(closed, 500);
    return await fail(`exited (code ${status?.code}, signal ${status?.signal}) before it was ready`);
  }
  if (outcome === 'timeout')
    return await fail(`was not ready within ${timeoutMs} ms (waiting for ${describe()})`);
  if (outcome instanceof Error)
    return await fail(`failed while waiting for ${describe()}: ${outcome.message}`);

  return {
    name,
    pid,
    child,
    readyMatch,
    stdout: () => out,
    stderr: () => err,
    exitStatus: () => status,
    exited,
    stop,
  };
}
