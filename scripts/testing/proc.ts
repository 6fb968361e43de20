// The processes a test step left alive, found in /proc: every descendant of the step's process, and every
// process whose environment carries the run's marker (a child that was detached and orphaned is no longer a
// descendant, but it inherited the marker). Listed for the report, then SIGKILLed, process groups included.

import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** 'Z' for a zombie (already dead, not yet reaped). */
  state: string;
  /** Seconds since it started. */
  ageSeconds: number;
  command: string;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux
const COMMAND_CHARS = 160;

function uptimeSeconds(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

function read(pid: number, uptime: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid pgrp session tty tpgid flags … starttime(22nd)"; comm may hold spaces and ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    const command = argv || `[${comm}]`;
    return {
      pid,
      ppid: Number(fields[1]),
      pgid: Number(fields[2]),
      state: fields[0] ?? '?',
      ageSeconds: Math.max(0, uptime - Number(fields[19]) / CLOCK_TICKS),
      command: command.length > COMMAND_CHARS ? `${command.slice(0, COMMAND_CHARS)}…` : command,
    };
  } catch {
    return undefined; // gone meanwhile
  }
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

function hasMarker(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`).includes(marker);
  } catch {
    return false;
  }
}

/**
 * Descendants of `root` (not root itself) and processes whose environment contains `marker` (a `NAME=value`
 * string), never this process nor its ancestors. Zombies are left out: they are dead already.
 */
export function leftoverProcesses(options: { root?: number; marker: string }): ProcessInfo[] {
  const uptime = uptimeSeconds();
  const infos = allPids()
    .map((pid) => read(pid, uptime))
    .filter((info): info is ProcessInfo => info !== undefined);
  const byPid = new Map(infos.map((info) => [info.pid, info]));
  const mine = new Set<number>();
  for (let pid: number | undefined = process.pid; pid && !mine.has(pid); pid = byPid.get(pid)?.ppid)
    mine.add(pid);

  const found = new Set<number>();
  if (options.root !== undefined) {
    const children = new Map<number, number[]>();
    for (const info of infos) children.set(info.ppid, [...(children.get(info.ppid) ?? []), info.pid]);
    const queue = [...(children.get(options.root) ?? [])];
    for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
      found.add(pid);
      queue.push(...(children.get(pid) ?? []));
    }
  }
  for (const info of infos) if (hasMarker(info.pid, options.marker)) found.add(info.pid);
  return [...found]
    .filter((pid) => !mine.has(pid))
    .map((pid) => byPid.get(pid))
    .filter((info): info is ProcessInfo => info !== undefined && info.state !== 'Z')
    .sort((a, b) => a.pid - b.pid);
}

/** One line per process, for the report. */
export function describeProcesses(list: ProcessInfo[]): string {
  return list
    .map(
      (p) =>
        `  pid ${p.pid} (parent ${p.ppid}, group ${p.pgid}, ${Math.round(p.ageSeconds)} s old): ${p.command}`,
    )
    .join('\n');
}

function kill(target: number, signal: NodeJS.Signals): void {
  try {
    process.kill(target, signal);
  } catch {
    // already gone
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * SIGKILLs what leftoverProcesses() finds, and the process groups they lead (a detached child's own children),
 * again until nothing is left (a process may fork while we kill). Returns every process it killed.
 */
export async function killLeftovers(options: { root?: number; marker: string }): Promise<ProcessInfo[]> {
  const killed = new Map<number, ProcessInfo>();
  const ownGroup = readGroup(process.pid);
  for (let round = 0; round < 10; round++) {
    const alive = leftoverProcesses(options);
    if (alive.length === 0) break;
    for (const p of alive) {
      killed.set(p.pid, p);
      if (p.pgid === p.pid && p.pgid !== ownGroup) kill(-p.pgid, 'SIGKILL');
      kill(p.pid, 'SIGKILL');
    }
    await sleep(100);
  }
  return [...killed.values()];
}

function readGroup(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return undefined;
  }
}
