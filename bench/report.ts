// Turns measurements into the one table: medians with min–max, ratios to the baselines measured in
// the same run, and each target from issue 8 marked pass or fail.

import type { LoadResult } from './load.ts';

export interface Sample {
  readonly result: LoadResult;
  /** VmHWM of the server process after this measurement (it only grows). */
  readonly peakKiB: number | null;
  /** Highest RssAnon seen while this measurement ran (sampled every 100 ms). */
  readonly peakAnonKiB: number | null;
  /** CPU time the server-side processes used per request during the measured run, µs. */
  readonly cpuUs: number | null;
  /** Processes the memory group's limit killed during this measurement (null: no limit). */
  readonly oomKills: number | null;
  /** Store queries flowergate made per request served (null: not counted). */
  readonly queriesPerRequest: number | null;
  /** A problem with this measurement (socket errors, wrong statuses, OOM kills). */
  readonly problem: string | null;
}

export interface Summary {
  readonly rps: { readonly median: number; readonly min: number; readonly max: number };
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly peakMiB: number | null;
  readonly peakAnonMiB: number | null;
  readonly cpuUs: number | null;
  /** Summed over the runs; null without a memory limit. */
  readonly oomKills: number | null;
  readonly queriesPerRequest: number | null;
  readonly problems: readonly string[];
  readonly repeats: number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarize(samples: readonly Sample[]): Summary {
  const rps = samples.map((s) => s.result.rps);
  const peaks = samples.map((s) => s.peakKiB).filter((p): p is number => p !== null);
  const cpu = samples.map((s) => s.cpuUs).filter((c): c is number => c !== null);
  const anon = samples.map((s) => s.peakAnonKiB).filter((p): p is number => p !== null);
  const ooms = samples.map((s) => s.oomKills).filter((k): k is number => k !== null);
  const queries = samples.map((s) => s.queriesPerRequest).filter((q): q is number => q !== null);
  return {
    rps: { median: median(rps), min: Math.min(...rps), max: Math.max(...rps) },
    p50Ms: median(samples.map((s) => s.result.p50Ms)),
    p99Ms: median(samples.map((s) => s.result.p99Ms)),
    peakMiB: peaks.length ? Math.max(...peaks) / 1024 : null,
    peakAnonMiB: anon.length ? Math.max(...anon) / 1024 : null,
    cpuUs: cpu.length ? median(cpu) : null,
    oomKills: ooms.length ? ooms.reduce((a, b) => a + b, 0) : null,
    queriesPerRequest: queries.length ? median(queries) : null,
    problems: [...new Set(samples.map((s) => s.problem).filter((p): p is string => p !== null))],
    repeats: samples.length,
  };
}

export interface Check {
  readonly text: string;
  readonly pass: boolean;
}

export interface Line {
  /** Row number and name from the issue, e.g. "2 warm decision". */
  readonly row: string;
  readonly what: string;
  readonly connections: string;
  readonly summary: Summary | null;
  /** `0.82× ceiling` */
  readonly ratio: string;
  readonly checks: readonly Check[];
  /** Shown instead of numbers (a skipped row) or after them. */
  readonly note?: string;
  readonly skipped?: boolean;
}

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
export const fmtRps = (n: number) => int.format(n);
export const fmtMs = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
export const fmtMiB = (n: number | null) => (n === null ? '–' : n.toFixed(0));
export const fmtRatio = (n: number) => `${n.toFixed(2)}×`;

function verdict(line: Line): string {
  if (line.skipped) return 'skipped';
  if (!line.checks.length) return '';
  return line.checks.every((c) => c.pass) ? '**pass**' : '**FAIL**';
}

export function renderTable(lines: readonly Line[]): string {
  const header = [
    '| row | what | conns | req/s median (min–max) | p50 ms | p99 ms | peak RSS (anon) MiB | CPU µs/req | queries/req | ratio | target | result |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|',
  ];
  const body = lines.map((line) => {
    const s = line.summary;
    const numbers = s
      ? [
          `${fmtRps(s.rps.median)} (${fmtRps(s.rps.min)}–${fmtRps(s.rps.max)})`,
          fmtMs(s.p50Ms),
          fmtMs(s.p99Ms),
          `${fmtMiB(s.peakMiB)} (${fmtMiB(s.peakAnonMiB)})`,
          s.cpuUs === null ? '–' : s.cpuUs.toFixed(0),
          s.queriesPerRequest === null ? '–' : s.queriesPerRequest.toFixed(2),
        ]
      : ['–', '–', '–', '–', '–', '–'];
    const target = line.checks.map((c) => `${c.text}${c.pass ? '' : ' ✗'}`).join('; ');
    const notes = [line.note, ...(s?.problems ?? [])].filter(Boolean).join('; ');
    return `| ${line.row} | ${line.what}${notes ? ` — ${notes}` : ''} | ${line.connections} | ${numbers.join(' | ')} | ${line.ratio} | ${target} | ${verdict(line)} |`;
  });
  return [...header, ...body].join('\n');
}

/** A plain-text rendering for the terminal: the same table, columns aligned. */
export function renderText(markdown: string): string {
  const rows = markdown
    .split('\n')
    .filter((l) => !/^\|[-:|]+\|$/.test(l))
    .map((l) =>
      l
        .slice(2, -2)
        .split(' | ')
        .map((c) => c.replaceAll('**', '')),
    );
  const widths = rows[0]!.map((_c, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r, k) => {
      const line = r
        .map((c, i) => (i >= 2 && i <= 9 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join('  ');
      return k === 0 ? `${line}\n${'-'.repeat(line.length)}` : line;
    })
    .join('\n');
}
