// scripts/test.ts, run on deliberately broken fixture tests (test/harness/fixtures/, outside the suite's glob):
// a run with a test that fails leaving a child process that holds its worker open, a test that never ends and a
// forgotten orphan still ends at its step limit, names what was running, lists and kills what was left, and
// exits non-zero; its honest twin, a clean run, passes with nothing to report.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { makeTempDir, removeDir } from '../support/processes.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONFIG = 'test/harness/fixtures/ava.config.js';
// Long enough for ava to start its workers on a machine this busy, short enough to end well within a minute.
const LIMIT_SECONDS = 40;
const GUARD_MS = 120_000;

interface Run {
  code: number | null;
  ms: number;
  output: string;
  summary: string;
  pids: number[];
}

async function runHarness(args: string[]): Promise<Run> {
  const dir = makeTempDir('harness');
  try {
    const [summaryFile, pidsFile] = [join(dir, 'summary'), join(dir, 'pids')];
    const started = performance.now();
    const child = spawn(process.execPath, ['scripts/test.ts', '--tests-only', ...args], {
      cwd: ROOT,
      env: { ...process.env, FG_TEST_SUMMARY: summaryFile, FG_HARNESS_PIDS: pidsFile },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    // Should the harness itself hang, end its whole group and fail rather than hang this suite.
    const guard = setTimeout(() => process.kill(-(child.pid ?? 0), 'SIGKILL'), GUARD_MS);
    const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
    clearTimeout(guard);
    const read = (file: string) => {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        return '';
      }
    };
    const pids = read(pidsFile).split('\n').filter(Boolean).map(Number);
    return { code, ms: performance.now() - started, output, summary: read(summaryFile).trim(), pids };
  } finally {
    removeDir(dir);
  }
}

/** Alive: in /proc and not a zombie (a killed orphan stays a zombie until init reaps it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

test('a hung, failing, process-leaking run ends at its step limit with a clear report; a clean run just passes', async (t) => {
  t.timeout(GUARD_MS + 30_000);
  const [broken, clean] = await Promise.all([
    runHarness([
      `--time-limit=${LIMIT_SECONDS}`,
      '--config',
      CONFIG,
      'test/harness/fixtures/hangs.fixture.ts',
      'test/harness/fixtures/orphans.fixture.ts',
    ]),
    runHarness(['--time-limit=300', '--config', CONFIG, 'test/harness/fixtures/passes.fixture.ts']),
  ]);
  t.log(
    `broken run ended after ${(broken.ms / 1000).toFixed(1)} s; clean run after ${(clean.ms / 1000).toFixed(1)} s`,
  );

  // The broken run: the step limit ended it, not ava's timeout (10 minutes in the fixtures' config), nor our guard.
  t.is(broken.code, 124, broken.output);
  t.true(broken.ms < 60_000, `ended after ${broken.ms} ms`);
  t.regex(broken.output, new RegExp(`=== tests overran its limit of ${LIMIT_SECONDS} s`));
  const [, running = '', killed = ''] =
    /tests still running:\n([\s\S]*?)\nprocesses still alive, now killed:\n([\s\S]*?)\n\n/.exec(
      broken.output,
    ) ?? [];
  t.regex(running, /test\/harness\/fixtures\/hangs\.fixture\.ts:\n\s+◌ never ends/);
  t.notRegex(running, /fails and leaves|passes/, 'finished tests are not listed as running');
  t.regex(killed, /ava\/lib\/worker\/base\.js/, 'the hung worker');
  t.regex(killed, /: sleep 611$/m, "the failing test's child that held its worker open");
  t.regex(killed, /: sleep 622$/m, 'the orphan, found by the run marker in its environment');
  t.regex(broken.output, /✘ \[fail\]: hangs\.fixture › fails and leaves a child process/, "ava's own report");
  t.is(broken.summary, '1 passed, 3 failed');
  t.is(broken.pids.length, 2);
  for (let i = 0; i < 50 && broken.pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
  t.deepEqual(broken.pids.filter(alive), [], 'every process the fixtures started is gone');

  // Its honest twin: passes, nothing overran, nothing left behind; the slowest files are listed.
  t.is(clean.code, 0, clean.output);
  t.is(clean.summary, '2 passed, 0 failed');
  t.notRegex(clean.output, /overran|left processes behind/);
  t.regex(clean.output, /slowest test files:\n\s+[\d.]+ s {2}test\/harness\/fixtures\/passes\.fixture\.ts/);
});
