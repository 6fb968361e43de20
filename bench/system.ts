// What the machine is, how to pin processes to CPUs, and how much memory a process has used.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { which } from '../test/support/processes.ts';

export interface Pinning {
  readonly taskset: string;
  /** CPU list for the load generator and this process. */
  readonly generator: string;
  /** CPU list for every server-side process we start (the servers, nginx, upstreams). */
  readonly server: string;
}

/**
 * Generator on CPU 0, servers on CPU 1 — the "one core for the load generator, one for the
 * server" — when `taskset` exists, at least two CPUs are allowed, and pinning actually works here.
 * Returns why not otherwise.
 */
export function choosePinning(): Pinning | string {
  const taskset = which('taskset');
  if (!taskset) return 'taskset not found (install with: apt-get install -y util-linux)';
  const allowed = allowedCpus();
  if (allowed.length < 2) return `only ${allowed.length} CPU available to this process`;
  const [generator, server] = allowed.map(String);
  const probe = spawnSync(taskset, ['-c', server!, 'true']);
  if (probe.status !== 0) return `taskset -c ${server} failed: ${probe.stderr}`;
  spawnSync(taskset, ['-a', '-p', '-c', generator!, String(process.pid)], { stdio: 'ignore' });
  return { taskset, generator: generator!, server: server! };
}

/** CPUs this process may run on (Cpus_allowed_list), falling back to all of them. */
function allowedCpus(): number[] {
  try {
    const line = readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\s*(.+)$/m)?.[1];
    if (line) {
      const cpus: number[] = [];
      for (const part of line.trim().split(',')) {
        const [from, to] = part.split('-').map(Number);
        for (let c = from!; c <= (to ?? from!); c++) cpus.push(c);
      }
      return cpus;
    }
  } catch {
    // not Linux
  }
  return os.cpus().map((_cpu, i) => i);
}

/** The command line that runs `argv` pinned to `cpus` (unchanged when not pinning). */
export function pinned(pinning: Pinning | string, cpus: 'generator' | 'server', argv: string[]): string[] {
  return typeof pinning === 'string' ? argv : [pinning.taskset, '-c', pinning[cpus], ...argv];
}

/**
 * Peak (VmHWM) and current (VmRSS) resident set of a process, and the anonymous part of the current one
 * (RssAnon: heap and other private memory, without the node binary's file pages), in KiB; null once
 * the process is gone.
 */
export function memoryOf(pid: number): { peakKiB: number; rssKiB: number; anonKiB: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s*(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { peakKiB: field('VmHWM'), rssKiB: field('VmRSS'), anonKiB: field('RssAnon') };
  } catch {
    return null;
  }
}

export interface Machine {
  readonly cpus: number;
  readonly model: string;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly loadAverage: string;
}

export function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    model: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    loadAverage: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
}

/** First line of a tool's version output, or null when it is missing. */
export function toolVersion(binary: string, args: string[], pattern: RegExp): string | null {
  const file = which(binary);
  if (!file) return null;
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 10_000 });
  return pattern.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1] ?? 'unknown version';
}

const CLOCK_TICKS = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  return Number(r.stdout?.trim()) || 100;
})();

/**
 * CPU time (user + system) the processes have used so far, in microseconds. Divided by the requests
 * served it is a cost per request that other work on the machine barely changes, unlike requests/s.
 */
export function cpuMicros(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      // the command name (field 2) may hold spaces; count fields after its closing parenthesis
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    } catch {
      // gone
    }
  }
  return (ticks * 1e6) / CLOCK_TICKS;
}

/** A process and its descendants (nginx's master and workers). */
export function processTree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i++) {
    try {
      for (const task of readFileSync(`/proc/${all[i]}/task/${all[i]}/children`, 'utf8').trim().split(/\s+/))
        if (task) all.push(Number(task));
    } catch {
      // gone, or no children file
    }
  }
  return all;
}
