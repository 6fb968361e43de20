// Loaded by ava in every worker before its test file (ava.config.js `require`). When scripts/test.ts sets
// FG_TEST_EVENTS to a file, the worker appends one JSON line per event to it: the file started, a test
// started, a test ended (and whether it passed), the worker exited. A hung run can then say which tests were
// still running; the same lines count passes and failures and time each file. Without the variable: nothing.
//
// Written synchronously (appendFileSync, O_APPEND): a line is on disk before the next await, so a worker that
// is killed a moment later has already told what it was doing.

import { appendFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { EVENTS_VARIABLE } from '../../scripts/testing/events.ts';

const HOOK = 'flowergate test events';

const log = process.env[EVENTS_VARIABLE];
if (log) {
  const file = relative(process.cwd(), fileURLToPath(test.meta.file));
  const write = (event: Record<string, unknown>) => {
    try {
      appendFileSync(log, `${JSON.stringify({ ...event, file, pid: process.pid, at: Date.now() })}\n`);
    } catch {
      // a log that cannot be written must not fail the tests it describes
    }
  };
  // A hook's t.title is "<hook title> for <test title>".
  const title = (hookTitle: string) => hookTitle.slice(`${HOOK} for `.length);
  write({ event: 'file-start' });
  process.on('exit', () => write({ event: 'file-end' }));
  test.beforeEach(HOOK, (t) => write({ event: 'test-start', title: title(t.title) }));
  test.afterEach.always(HOOK, (t) => write({ event: 'test-end', title: title(t.title), passed: t.passed }));
}
