// The table's lines as rows are measured: each row against its baseline from the same run (requests/s
// ratio, by CPU, p99 ratio), memory-limited rows against the same row unlimited, targets pass or fail.

import { get, type Results } from './measure.ts';
import { type Check, fmtRatio, type Line, type Summary } from './report.ts';
import { log } from './settings.ts';

export const lines: Line[] = [];
export const skipped: string[] = [];

export const skip = (row: string, what: string, why: string) => {
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

/** The request-rate ratio the CPU costs predict (baseline CPU per request / row's): robust to a busy machine. */
export const cpuRatio = (base: Summary, row: Summary): string =>
  base.cpuUs && row.cpuUs ? ` (by CPU ${fmtRatio(base.cpuUs / row.cpuUs)})` : '';
export const p99Ratio = (base: Summary, row: Summary): string =>
  base.p99Ms > 0 ? `; p99 ${fmtRatio(row.p99Ms / base.p99Ms)}` : '';
export const ratioCheck = (ratio: number, min: number, of = ''): Check => ({
  text: `≥ ${min}×${of}`,
  pass: ratio >= min,
});

/** A memory-limited run keeps this share of the same row's requests/s without the limit (issue 17). */
export const LIMITED_MIN = 0.9;

/** Checks of a row run inside a memory group: no OOM kill, and the peak it reached. */
export function limitChecks(s: Summary, limitBytes: number): Check[] {
  const limitMiB = limitBytes / 2 ** 20;
  return [
    { text: '0 OOM kills', pass: s.oomKills === 0 },
    ...(s.peakMiB === null ? [] : [{ text: `peak < ${limitMiB} MiB`, pass: s.peakMiB < limitMiB }]),
  ];
}

export interface ComparedRow {
  id: string;
  row: string;
  what: string;
  /** The least requests/s ratio to the baseline (0: none). */
  min: number;
  extra?: (c: number, s: Summary) => Check[];
  /** A memory-limited run: compared with this (unlimited) row's id instead of the baseline. */
  limited?: { of: string; limitBytes: number };
}

/** Adds the baseline's line and the rows compared to it, for every connection count. */
export function compare(
  results: Results,
  baseline: { id: string; row: string; what: string },
  rows: readonly ComparedRow[],
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
      const errors = s.problems.length ? [{ text: 'no errors', pass: false }] : [];
      const unlimited = row.limited ? get(results, row.limited.of, c) : null;
      if (row.limited && unlimited) {
        const ratio = s.rps.median / unlimited.rps.median;
        lines.push({
          row: row.row,
          what: row.what,
          connections: String(c),
          summary: s,
          ratio: `${fmtRatio(ratio)} unlimited${cpuRatio(unlimited, s)}${p99Ratio(base, s)} ${name}'s`,
          checks: [
            ratioCheck(ratio, LIMITED_MIN, ' unlimited'),
            ...limitChecks(s, row.limited.limitBytes),
            ...errors,
          ],
        });
        continue;
      }
      const ratio = s.rps.median / base.rps.median;
      lines.push({
        row: row.row,
        what: row.what,
        connections: String(c),
        summary: s,
        ratio: `${fmtRatio(ratio)} ${name}${cpuRatio(base, s)}${p99Ratio(base, s)}`,
        checks: [
          ...(row.min > 0 ? [ratioCheck(ratio, row.min)] : []),
          ...(row.extra?.(c, s) ?? []),
          ...errors,
        ],
      });
    }
  }
}
