// `npm run bench [-- options]`: flowergate against its ceilings and baselines (issue 8), on loopback.
//
//   --write              also write the table to docs/benchmarks.md
//   --quick              2 s per measurement, 1 repeat (a smoke run; not for the docs)
//   --seconds N          measured seconds per run (default 5)
//   --warmup N           warm-up seconds before each run (default 1)
//   --repeats N          runs per row and connection count; the median is reported (default 3)
//   --connections A,B    connection counts (default 16,64; the sidecar row adds 1)
//   --only ROWS          comma-separated: ceiling,warm,cold-sqlite,cold-postgres,denial,nginx,sidecar
//   --sessions N         distinct Django sessions for the cold rows (default 5000)
//   --generator wrk|node the load generator (default: wrk when installed, else node)
//   --cpu-prof DIR       run every flowergate under `node --cpu-prof`, profiles into DIR
//   --fg-env KEY=VALUE   extra environment for every flowergate (repeatable), e.g. to try a setting
//   --fg-node-flags "…"  extra node flags for every flowergate, e.g. "--max-semi-space-size=4"
//   --compare-src DIR    rows 2–4 and 6 also run flowergate from another checkout's src/ (A/B a change;
//                        DIR needs package.json and node_modules, e.g. a symlink to this one's)
//   --compare-env K=V    rows 2–4 and 6 also run flowergate with this extra environment (repeatable; A/B a setting)
//   --memory-limit Q|off every flowergate row runs again inside a memory cgroup of Q (default: the chart's
//                        resources.limits.memory, helm/flowergate/values.yaml) with the image's NODE_OPTIONS
//                        (Dockerfile); warm also at 128Mi. Needs root (cgroup v1 memory controller or v2)
//   --limit-node-options "…"  rows 2–4 also run inside that limit with these NODE_OPTIONS (A/B the image's)
//   --soak MINUTES       instead of the table: the sidecar and forward-auth (warm) rows at ~80 % of the
//                        capacity just measured, with RSS and event-loop delay sampled every 10 s
//
// Every row runs with the baselines it is compared to, interleaved (baseline, row, baseline, row, …)
// so that noise from other work on the machine hits both. Rows whose tools are missing are skipped
// with the reason and the command that installs them.
//
// The parts: settings.ts (this command line), servers.ts (starting and stopping what is measured, memory
// groups from cgroup.ts), requests.ts (Django data and request bytes), measure.ts (driving load.ts's
// generator), lines.ts and report.ts (the table), rows/ (what each row starts and compares), soak.ts.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderDoc } from './doc.ts';
import { lines, skipped } from './lines.ts';
import { generator } from './measure.ts';
import { renderTable, renderText } from './report.ts';
import { sqliteUrl } from './requests.ts';
import { decisionRows } from './rows/decisions.ts';
import { nginxRow } from './rows/nginx.ts';
import { sidecarRow } from './rows/sidecar.ts';
import { cleanup, pinning, primeCompileCache, versions } from './servers.ts';
import { args, log, REPO, settings } from './settings.ts';
import { describeMachine } from './system.ts';

const machine = describeMachine();

try {
  await primeCompileCache(sqliteUrl);
  if (settings.soakMinutes !== null) {
    const { soak } = await import('./soak.ts');
    await soak(settings.soakMinutes);
  } else {
    const started = new Date();
    if (
      (['ceiling', 'warm', 'cold-sqlite', 'cold-postgres', 'denial'] as const).some((r) =>
        settings.only.has(r),
      )
    )
      await decisionRows();
    if (settings.only.has('nginx')) await nginxRow();
    if (settings.only.has('sidecar')) await sidecarRow();
    report(started);
  }
} finally {
  await cleanup();
}

function report(started: Date): void {
  const table = renderTable(lines);
  const failed = lines.filter((l) => l.checks.some((c) => !c.pass));
  const environment = [
    `- date: ${started.toISOString().replace(/\.\d+Z$/, 'Z')}`,
    `- machine: ${machine.cpus} CPUs (${machine.model}), ${machine.memoryGiB} GiB, ${machine.kernel}; load average at start ${machine.loadAverage}`,
    `- Node ${machine.node} (the same binary for flowergate and every Node baseline); SQLite ${versions.sqlite}; PostgreSQL ${versions.postgres ?? 'not used'}; nginx ${versions.nginx ?? 'not installed'}`,
    `- load generator: ${generator.name === 'wrk' ? `wrk ${versions.wrk} (1 thread)` : generator.name}; ${settings.seconds} s per run after ${settings.warmup} s of warm-up; ${settings.repeats} runs per line, median (min–max); keep-alive, no pipelining`,
    `- CPUs: ${typeof pinning === 'string' ? `not pinned (${pinning})` : `load generator on CPU ${pinning.generator}, every server process (flowergate, baselines, nginx, upstreams) on CPU ${pinning.server} (taskset); PostgreSQL's own processes are not pinned`}`,
    `- flowergate: default settings unless the row says otherwise (audit log at info, to /dev/null: every forbidden user, error and fresh verdict, unauthenticated decisions up to 100 a second, repeated reads on a cached verdict sampled at 0); started as the image starts it (bin/flowergate.js); every Node process with a warm compile cache (NODE_COMPILE_CACHE, primed once); peak RSS is the server process's VmHWM, or for a memory-limited line the cgroup's peak charge (memory.max_usage_in_bytes / memory.peak: RSS and the page cache it touched)`,
    ...(settings.memoryLimit === null
      ? []
      : [
          `- memory-limited lines: flowergate inside a cgroup v1/v2 memory group of ${settings.memoryLimit / 2 ** 20} MiB without swap (the chart's default \`resources.limits.memory\`; 128 MiB for the small-sidecar line), as the image runs it: \`node ${settings.imageNodeFlags.join(' ')}\` with \`NODE_OPTIONS=${settings.imageNodeOptions}\` (Dockerfile); compared with the same row unlimited, run interleaved with it`,
        ]),
    ...(Object.keys(settings.fgEnv).length || settings.fgNodeFlags.length
      ? [
          `- flowergate overrides for this run: ${[...Object.entries(settings.fgEnv).map(([k, v]) => `${k}=${v}`), ...settings.fgNodeFlags].join(' ')}`,
        ]
      : []),
  ].join('\n');
  process.stdout.write(`\n${renderText(table)}\n\n${environment}\n`);
  if (skipped.length) process.stdout.write(`\nSKIPPED:\n${skipped.map((s) => `- ${s}`).join('\n')}\n`);
  const missed = failed.map(
    (l) =>
      `${l.row} @${l.connections}: ${l.checks
        .filter((c) => !c.pass)
        .map((c) => c.text)
        .join(', ')}`,
  );
  process.stdout.write(
    missed.length
      ? `\nTargets missed:\n${missed.map((m) => `- ${m}`).join('\n')}\n`
      : '\nEvery measured target met.\n',
  );
  if (args.write) {
    if (args.quick) log('NOTE: writing a --quick run to docs/benchmarks.md');
    mkdirSync(join(REPO, 'docs'), { recursive: true });
    writeFileSync(join(REPO, 'docs/benchmarks.md'), renderDoc(table, environment, failed.length, skipped));
    log('wrote docs/benchmarks.md');
  }
}
