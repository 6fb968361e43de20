// `npm test`: lint, type check, prepare real-Django fixtures, then the ava suite. Each step's failure stops the
// run with its own exit code, so CI shows what broke.
//
// No step can hang the run: each has a time limit. A step that overruns it is reported (the tests still
// running, from test/support/test-events.ts, and every process the step left alive, from /proc), those
// processes are SIGKILLed, and the run exits 124. After the tests: the ten slowest test files, any process a
// test left behind (reported and killed), and a last line `N passed, N failed`.
//
//   node scripts/test.ts [ava arguments]        the whole run; arguments go to ava (files, --match …)
//   node scripts/test.ts --stress [--runs=3]    fixtures, then the suite N times in a row under CPU load
//   node scripts/test.ts --tests-only           the ava step alone
//   node scripts/test.ts --time-limit=SECONDS   the ava step's limit (default 1800)
//
// FG_TEST_SUMMARY=<file>: the last line is written there too (.ci/run prints it last).

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCpuLoad } from './testing/cpu-load.ts';
import { describeRunning, EVENTS_VARIABLE, readEvents, slowestFiles } from './testing/events.ts';
import { describeProcesses, killLeftovers } from './testing/proc.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const AVA = join(ROOT, 'node_modules/ava/entrypoints/cli.js');
const OVERRUN_EXIT = 124;

interface Options {
  stress: boolean;
  runs: number;
  testsOnly: boolean;
  testsLimitSeconds: number;
  avaArgs: string[];
}

function parseArgs(argv: string[]): Options {
  const options: Options = { stress: false, runs: 3, testsOnly: false, testsLimitSeconds: 1800, avaArgs: [] };
  for (const arg of argv) {
    const [flag, value] = arg.split(/=(.*)/s, 2);
    if (flag === '--stress') options.stress = true;
    else if (flag === '--tests-only') options.testsOnly = true;
    else if (flag === '--runs' && Number(value) >= 1) options.runs = Math.floor(Number(value));
    else if (flag === '--time-limit' && Number(value) > 0) options.testsLimitSeconds = Number(value);
    else if (flag === '--runs' || flag === '--time-limit') throw new Error(`${flag} needs a positive number`);
    else options.avaArgs.push(arg);
  }
  return options;
}

interface Step {
  name: string;
  command: string;
  args: string[];
  limitSeconds: number;
  /** The ava step: workers write their events, and the report and the summary read them. */
  tests?: boolean;
}

const say = (text: string) => process.stdout.write(`${text}\n`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

// One marker for every process this run starts, inherited through any spawn that keeps the environment. Our
// variables are FG_*, never FLOWERGATE_*: flowergate refuses to start with an unknown FLOWERGATE_ variable.
const marker = `FG_TEST_RUN=${randomUUID()}`;
const scratch = mkdtempSync(join(tmpdir(), 'flowergate-test-run-'));
let current: { name: string; child: ReturnType<typeof spawn> } | undefined;

async function cleanUpAndExit(code: number): Promise<never> {
  await killLeftovers({ root: process.pid, marker });
  rmSync(scratch, { recursive: true, force: true });
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    say(`\n=== ${signal}: stopping${current ? ` ${current.name}` : ''} and every process it started`);
    void cleanUpAndExit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const)[signal]);
  });
}

interface StepResult {
  code: number;
  ms: number;
  passed: number;
  failed: number;
}

async function runStep(step: Step, label = step.name): Promise<StepResult> {
  const started = performance.now();
  const events = join(scratch, `events-${randomUUID()}.jsonl`);
  say(`\n=== ${label}`);
  const [name, value] = marker.split('=') as [string, string];
  const child = spawn(step.command, step.args, {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, [name]: value, ...(step.tests ? { [EVENTS_VARIABLE]: events } : {}) },
  });
  current = { name: label, child };
  let overran = false;
  const exited = new Promise<number>((resolve) => {
    child.once('error', (error) => {
      say(`=== ${label}: could not start ${step.command}: ${error.message}`);
      resolve(127);
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<'overrun'>((resolve) => {
    timer = setTimeout(() => resolve('overrun'), step.limitSeconds * 1000);
  });
  let code = await Promise.race([exited, limit]);
  clearTimeout(timer);
  current = undefined;

  if (code === 'overrun') {
    overran = true;
    // What was running, read before the kill; printed after it, so no output of theirs lands in the report.
    const running = step.tests ? describeRunning(readEvents(events)) : [];
    const killed = await killLeftovers({ root: process.pid, marker });
    say(`\n=== ${label} overran its limit of ${step.limitSeconds} s`);
    if (step.tests)
      say(running.length ? `tests still running:\n${running.join('\n')}` : 'no test was running');
    say(`processes still alive, now killed:\n${describeProcesses(killed) || '  (none)'}`);
    code = OVERRUN_EXIT;
  } else {
    // Anything still carrying the marker outlived the test that started it: report it, and end it here.
    const left = await killLeftovers({ root: process.pid, marker });
    if (left.length) say(`\n=== ${label} left processes behind (killed now):\n${describeProcesses(left)}`);
  }

  const ms = performance.now() - started;
  const result = { code, ms, passed: 0, failed: 0 };
  if (step.tests) {
    const read = readEvents(events);
    const unfinished = [...read.running.values()].reduce((n, titles) => n + titles.length, 0);
    Object.assign(result, { passed: read.passed, failed: read.failed + unfinished });
    const slowest = slowestFiles(read);
    if (slowest.length) say(`\nslowest test files:\n${slowest.join('\n')}`);
  }
  say(
    overran
      ? `=== ${label} killed after ${seconds(ms)}`
      : `=== ${label} ${code === 0 ? 'passed' : 'failed'} in ${seconds(ms)}`,
  );
  return result;
}

function finish(code: number, passed: number, failed: number, note = ''): Promise<never> {
  const line = `${passed} passed, ${failed} failed${note}`;
  say(`\n${line}`);
  if (process.env.FG_TEST_SUMMARY) writeFileSync(process.env.FG_TEST_SUMMARY, `${line}\n`);
  return cleanUpAndExit(code);
}

const options = parseArgs(process.argv.slice(2));
const tests: Step = {
  name: 'tests',
  command: process.execPath,
  args: [AVA, ...options.avaArgs],
  limitSeconds: options.testsLimitSeconds,
  tests: true,
};
const before: Step[] = [
  { name: 'lint', command: 'npx', args: ['biome', 'check', '.'], limitSeconds: 300 },
  { name: 'typecheck', command: 'npx', args: ['tsc', '--noEmit', '-p', 'tsconfig.json'], limitSeconds: 600 },
  {
    name: 'django fixtures',
    command: process.execPath,
    args: ['scripts/prepare-django-fixtures.ts'],
    limitSeconds: 900,
  },
];
const preparation = options.testsOnly ? [] : options.stress ? before.slice(2) : before;

for (const step of preparation) {
  const { code } = await runStep(step);
  if (code !== 0) await finish(code, 0, 0, ` (${step.name} failed; no tests ran)`);
}

if (!options.stress) {
  const result = await runStep(tests);
  await finish(result.code, result.passed, result.failed);
}

// --stress: the suite again and again, each time with every core kept busy by threads of our own. Every run is
// made (a flaky test shows in one run of three, so each run's failures are worth seeing), unless one overran.
let passedRuns = 0;
let firstFailure = 0;
const totals = { passed: 0, failed: 0 };
for (let run = 1; run <= options.runs; run++) {
  const load = startCpuLoad({ maxMs: tests.limitSeconds * 1000 });
  const label = `tests under CPU load (${load.threads} busy threads), run ${run} of ${options.runs}`;
  const result = await runStep(tests, label).finally(() => load.stop());
  totals.passed += result.passed;
  totals.failed += result.failed;
  say(`stress run ${run}: ${result.passed} passed, ${result.failed} failed in ${seconds(result.ms)}`);
  if (result.code === 0) passedRuns++;
  else firstFailure ||= result.code;
  if (result.code === OVERRUN_EXIT) break;
}
await finish(
  firstFailure,
  totals.passed,
  totals.failed,
  ` (${passedRuns} of ${options.runs} stress runs passed)`,
);
