// What the ava workers wrote to the events file (test/support/test-events.ts): the tests still running, the
// files whose worker never exited, the pass and fail counts, and how long each file took.

import { readFileSync } from 'node:fs';

/** The file the workers append to; scripts/test.ts sets it for the ava step. */
export const EVENTS_VARIABLE = 'FG_TEST_EVENTS';

/** One line of the file. */
export type TestEvent =
  | { event: 'file-start' | 'file-end'; file: string; pid: number; at: number }
  | { event: 'test-start'; file: string; pid: number; at: number; title: string }
  | { event: 'test-end'; file: string; pid: number; at: number; title: string; passed: boolean };

export interface RunEvents {
  /** Started and not ended, by file, in the order they started. */
  running: Map<string, string[]>;
  /** Files whose worker started and did not exit (cleanly or at all). */
  unfinishedFiles: string[];
  passed: number;
  failed: number;
  /** Wall time of each file's worker, from loading the test file to its exit; unfinished files up to now. */
  fileSeconds: Map<string, number>;
}

export function readEvents(path: string, now = Date.now()): RunEvents {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    // no worker has written yet
  }
  const started = new Map<string, number>();
  const ended = new Map<string, number>();
  const tests = new Map<string, { file: string; title: string; open: boolean }>();
  let passed = 0;
  let failed = 0;
  for (const line of text.split('\n')) {
    if (!line) continue;
    let e: TestEvent;
    try {
      e = JSON.parse(line) as TestEvent;
    } catch {
      continue; // a line cut short by a kill
    }
    // the same file may run again (ava's watch mode, or a rerun): key tests by worker too
    const key = (title: string) => `${e.pid}\u0000${e.file}\u0000${title}`;
    if (e.event === 'file-start') started.set(`${e.pid}\u0000${e.file}`, e.at);
    else if (e.event === 'file-end') ended.set(`${e.pid}\u0000${e.file}`, e.at);
    else if (e.event === 'test-start') tests.set(key(e.title), { file: e.file, title: e.title, open: true });
    else if (e.event === 'test-end') {
      const test = tests.get(key(e.title));
      if (test) test.open = false;
      if (e.passed) passed++;
      else failed++;
    }
  }
  const running = new Map<string, string[]>();
  for (const test of tests.values()) {
    if (test.open) running.set(test.file, [...(running.get(test.file) ?? []), test.title]);
  }
  const fileSeconds = new Map<string, number>();
  const unfinishedFiles: string[] = [];
  for (const [worker, at] of started) {
    const file = worker.split('\u0000')[1] ?? worker;
    const end = ended.get(worker);
    if (end === undefined) unfinishedFiles.push(file);
    fileSeconds.set(file, Math.max(fileSeconds.get(file) ?? 0, ((end ?? now) - at) / 1000));
  }
  return { running, unfinishedFiles, passed, failed, fileSeconds };
}

/** The `count` slowest files, slowest first, as report lines. */
export function slowestFiles(events: RunEvents, count = 10): string[] {
  return [...events.fileSeconds]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([file, seconds]) => `${seconds.toFixed(1).padStart(7)} s  ${file}`);
}

/** The tests still running, and the files whose worker did not exit, as report lines. */
export function describeRunning(events: RunEvents): string[] {
  const lines: string[] = [];
  for (const [file, titles] of events.running) {
    lines.push(`  ${file}:`);
    for (const title of titles) lines.push(`    ◌ ${title}`);
  }
  for (const file of events.unfinishedFiles) {
    if (!events.running.has(file))
      lines.push(
        `  ${file}: no test running, but its worker has not exited (an after hook, or a handle left open)`,
      );
  }
  return lines;
}
