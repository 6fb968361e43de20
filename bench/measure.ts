// Drives the load generator at the targets of one row group, interleaved, and records each run: the
// generator's numbers, the servers' CPU time and memory, the memory group's peak and OOM kills, and how
// many queries flowergate made per request (when it runs with bench/servers/count-queries.ts).

import { readFileSync } from 'node:fs';
import { which } from '../test/support/processes.ts';
import type { MemoryCgroup } from './cgroup.ts';
import {
  type LoadGenerator,
  type LoadResult,
  nodeGenerator,
  probeStatuses,
  type RequestSource,
  wrkGenerator,
} from './load.ts';
import { fmtMiB, fmtMs, fmtRps, type Sample, type Summary, summarize } from './report.ts';
import { pinning } from './servers.ts';
import { args, log, settings } from './settings.ts';
import { cpuMicros, memoryOf } from './system.ts';

const wrk = which('wrk');
let expectNow = 200;
export const generator: LoadGenerator =
  args.generator === 'node' || !wrk
    ? nodeGenerator(() => expectNow)
    : wrkGenerator(wrk, typeof pinning === 'string' ? undefined : pinning.taskset);
if (args.generator === 'wrk' && !wrk)
  throw new Error('--generator wrk: wrk is not installed (apt-get install -y wrk)');
if (!wrk)
  log('NOTE: wrk not found (install with: apt-get install -y wrk); using the slower Node load generator.');
const genCpus = typeof pinning === 'string' ? undefined : pinning.generator;

export interface Target {
  readonly id: string;
  readonly origin: string;
  readonly source: RequestSource;
  readonly expect: number;
  /** The server whose peak RSS is reported. */
  readonly pid: number;
  /** Every server-side process whose CPU time counts (default: pid). */
  readonly cpuPids?: () => number[];
  /** The memory group the server runs in: its peak is reported instead of VmHWM, with OOM kills. */
  readonly cgroup?: MemoryCgroup;
  /** The file bench/servers/count-queries.ts keeps the server's query count in. */
  readonly queryCountFile?: string;
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

export async function preflight(target: Target): Promise<void> {
  const statuses = await probeStatuses(target.origin, target.source);
  if (statuses.some((s) => s !== target.expect))
    throw new Error(
      `${target.id}: expected ${target.expect}, got ${statuses.join(', ')} from ${target.origin}`,
    );
}

export type Results = Map<string, Map<number, Sample[]>>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The count the server last wrote (it writes every 100 ms; wait a little longer first). */
async function queriesSoFar(file: string): Promise<number | null> {
  await sleep(250);
  try {
    return Number(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** One measured run at `connections`, after a warm-up. */
export async function runOnce(target: Target, connections: number, seconds: number): Promise<Sample> {
  expectNow = target.expect;
  const run = { origin: target.origin, source: target.source, connections, cpus: genCpus };
  if (settings.warmup > 0) await generator.run({ ...run, seconds: settings.warmup });
  const pids = target.cpuPids?.() ?? [target.pid];
  const queriesBefore = target.queryCountFile ? await queriesSoFar(target.queryCountFile) : null;
  const oomBefore = target.cgroup?.oomKills() ?? 0;
  target.cgroup?.resetPeak();
  const cpuBefore = cpuMicros(pids);
  let peakAnonKiB: number | null = null;
  const sampler = setInterval(() => {
    const anon = memoryOf(target.pid)?.anonKiB;
    if (anon !== undefined) peakAnonKiB = Math.max(peakAnonKiB ?? 0, anon);
  }, 100);
  const result = await generator.run({ ...run, seconds }).finally(() => clearInterval(sampler));
  const cpuUs = result.requests ? (cpuMicros(pids) - cpuBefore) / result.requests : null;
  const group = target.cgroup?.peakBytes();
  const peakKiB = group != null ? group / 1024 : (memoryOf(target.pid)?.peakKiB ?? null);
  const oomKills = target.cgroup ? target.cgroup.oomKills() - oomBefore : null;
  const queriesAfter = target.queryCountFile ? await queriesSoFar(target.queryCountFile) : null;
  const queriesPerRequest =
    queriesBefore !== null && queriesAfter !== null && result.requests
      ? (queriesAfter - queriesBefore) / result.requests
      : null;
  const problems = [problemOf(result, target.expect), oomKills ? `${oomKills} OOM kills` : null].filter(
    (p): p is string => p !== null,
  );
  return {
    result,
    peakKiB,
    peakAnonKiB,
    cpuUs,
    oomKills,
    queriesPerRequest,
    problem: problems.length ? problems.join(', ') : null,
  };
}

/** Each connection count; each repeat; each target in turn (the order rotates between repeats). */
export async function measure(targets: readonly Target[], connections: readonly number[]): Promise<Results> {
  const results: Results = new Map(targets.map((t) => [t.id, new Map()]));
  for (const c of connections) {
    for (let r = 0; r < settings.repeats; r++) {
      const order = targets.map((_t, i) => targets[(i + r) % targets.length]!);
      for (const target of order) {
        const sample = await runOnce(target, c, settings.seconds);
        const { result, peakKiB, cpuUs, problem } = sample;
        results.get(target.id)!.set(c, [...(results.get(target.id)!.get(c) ?? []), sample]);
        log(
          `  ${target.id.padEnd(22)} c=${String(c).padStart(2)} #${r + 1}: ${fmtRps(result.rps).padStart(7)} req/s  p50 ${fmtMs(result.p50Ms)} ms  p99 ${fmtMs(result.p99Ms)} ms  peak ${target.cgroup ? '(cgroup)' : 'RSS'} ${fmtMiB(peakKiB === null ? null : peakKiB / 1024)} MiB  CPU ${cpuUs === null ? '–' : cpuUs.toFixed(0)} µs/req${sample.queriesPerRequest === null ? '' : `  ${sample.queriesPerRequest.toFixed(3)} queries/req`}${problem ? `  (${problem})` : ''}`,
        );
      }
    }
  }
  return results;
}

export const get = (results: Results, id: string, c: number): Summary | null => {
  const samples = results.get(id)?.get(c);
  return samples?.length ? summarize(samples) : null;
};
