// A memory cgroup for one server process, as a container's memory limit is: cgroup v1's memory controller
// (memory.limit_in_bytes, no swap) or cgroup v2 (memory.max, memory.swap.max = 0). The group is made inside
// this process's own group (the part of the hierarchy it may manage, as in a container) and removed after.

import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MemoryCgroup {
  readonly version: 1 | 2;
  readonly path: string;
  readonly limitBytes: number;
  /** Where a process writes its pid to join (`echo $$ > …` before exec). */
  readonly procsFile: string;
  /** Highest charge (RSS + page cache the group touched) since the last `resetPeak`, or null if unknown. */
  peakBytes(): number | null;
  resetPeak(): void;
  /** Processes the kernel killed for the limit so far. */
  oomKills(): number;
  remove(): void;
}

const ROOT = '/sys/fs/cgroup';

/** Where this process's own memory group is: v1's memory hierarchy, else the v2 unified one; or why not. */
function ownGroup(): { version: 1 | 2; dir: string } | string {
  let lines: string[];
  try {
    lines = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n');
  } catch {
    return 'no /proc/self/cgroup (not Linux)';
  }
  for (const line of lines) {
    const [, controllers, path] = line.split(':');
    if (controllers?.split(',').includes('memory') && existsSync(join(ROOT, 'memory')))
      return { version: 1, dir: join(ROOT, 'memory', path ?? '/') };
  }
  const unified = lines.find((line) => line.startsWith('0::'))?.slice(3);
  if (unified !== undefined) {
    // v2 alone is mounted at /sys/fs/cgroup; next to v1 (hybrid) at /sys/fs/cgroup/unified.
    const mount = existsSync(join(ROOT, 'cgroup.controllers')) ? ROOT : join(ROOT, 'unified');
    const dir = join(mount, unified);
    if (readFileSync(join(mount, 'cgroup.controllers'), 'utf8').includes('memory'))
      return { version: 2, dir };
    return `cgroup v2 at ${mount} has no memory controller (v1's is not mounted either)`;
  }
  return 'no memory cgroup controller';
}

/** A new memory group limited to `limitBytes`, or the reason it cannot be made here. */
export function createMemoryCgroup(name: string, limitBytes: number): MemoryCgroup | string {
  const own = ownGroup();
  if (typeof own === 'string') return own;
  const path = join(own.dir, `${name}-${process.pid}`);
  try {
    mkdirSync(path);
  } catch (error) {
    return `cannot create ${path}: ${(error as Error).message} (needs root, or a delegated cgroup)`;
  }
  const write = (file: string, value: string) => writeFileSync(join(path, file), value);
  const read = (file: string) => readFileSync(join(path, file), 'utf8');
  const field = (file: string, key: string) =>
    Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(read(file))?.[1] ?? 0);
  try {
    if (own.version === 1) {
      write('memory.limit_in_bytes', String(limitBytes));
      // No swap either, as a Kubernetes pod's limit (memsw exists only with swap accounting on).
      if (existsSync(join(path, 'memory.memsw.limit_in_bytes')))
        write('memory.memsw.limit_in_bytes', String(limitBytes));
    } else {
      write('memory.max', String(limitBytes));
      if (existsSync(join(path, 'memory.swap.max'))) write('memory.swap.max', '0');
    }
  } catch (error) {
    rmdirSync(path);
    return `cannot set the limit in ${path}: ${(error as Error).message}`;
  }
  return {
    version: own.version,
    path,
    limitBytes,
    procsFile: join(path, 'cgroup.procs'),
    peakBytes() {
      try {
        return Number(read(own.version === 1 ? 'memory.max_usage_in_bytes' : 'memory.peak'));
      } catch {
        return null; // v2 before Linux 5.19 has no memory.peak
      }
    },
    resetPeak() {
      try {
        // v1: writing 0 resets the high-water mark; v2 (Linux 6.12+): any write resets it for this writer.
        write(
          own.version === 1 ? 'memory.max_usage_in_bytes' : 'memory.peak',
          own.version === 1 ? '0' : 'reset',
        );
      } catch {
        // not resettable here: the peak then covers the whole life of the group
      }
    },
    oomKills() {
      return own.version === 1 ? field('memory.oom_control', 'oom_kill') : field('memory.events', 'oom_kill');
    },
    remove() {
      try {
        rmdirSync(path);
      } catch {
        // still has a process (it is being stopped); the kernel keeps the empty group until then
      }
    },
  };
}

/** `64Mi`, `256Mi`, `1Gi`, `512M`, or bytes: a Kubernetes memory quantity in bytes. */
export function parseQuantity(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|K|M|G)?$/.exec(text.trim());
  if (!match) throw new Error(`not a memory quantity: ${text}`);
  const scale: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, K: 1e3, M: 1e6, G: 1e9 };
  return Math.round(Number(match[1]) * (match[2] ? scale[match[2]]! : 1));
}
