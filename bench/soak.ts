// `npm run bench -- --soak MINUTES`: the sidecar and forward-auth (warm) rows, one after the other, each for
// MINUTES at ~80 % of the capacity measured just before (one closed-loop run at 64 connections), sent at a
// steady rate by a Node client on the generator CPU. Every 10 s: flowergate's RSS, its V8 heap in use and
// its event-loop delay (p99 and max since the last sample; both from its own /metrics). `--only sidecar`
// or `--only warm` soaks one row. Memory must stay flat after warm-up
// (the first minute): no sample more than 10 % above the first sample after it; and no errors.

import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { runOnce } from './measure.ts';
import { fmtMiB, fmtRps } from './report.ts';
import { authRequest, one, pageRequest, sqliteUrl, superuserKey } from './requests.ts';
import { startBare, startFlowergate, stopAll } from './servers.ts';
import { args, log, REPO, settings } from './settings.ts';
import { describeMachine, memoryOf } from './system.ts';

const SAMPLE_MS = 10_000;
const WARM_UP_MS = 60_000;
const SHARE = 0.8;
const GROWTH_MAX = 0.1;

interface SoakSample {
  readonly at: number;
  readonly rssMiB: number;
  /** V8's heap in use (live objects and garbage not yet collected): tells a leak from lazy collection. */
  readonly heapUsedMiB: number | null;
  readonly loopP99Ms: number | null;
  readonly loopMaxMs: number | null;
  readonly sent: number;
  /** Requests that failed or got another status than 200. */
  readonly errors: number;
  /** Requests not sent because 256 were already waiting (the server, or this client, fell behind). */
  readonly backlog: number;
}

export async function soak(minutes: number): Promise<void> {
  if (!(minutes > 0)) throw new Error('--soak wants a number of minutes');
  const results: string[] = [];
  const started = new Date();
  const upstream = await startBare('upstream', 'upstream');
  const rows = (['sidecar', 'forward-auth'] as const).filter((row) =>
    settings.only.has(row === 'sidecar' ? 'sidecar' : 'warm'),
  );
  for (const row of rows) {
    const fg = await startFlowergate(
      `flowergate-soak-${row}`,
      {
        FLOWERGATE_DJANGO_DATABASE_URL: sqliteUrl,
        ...(row === 'sidecar' ? { FLOWERGATE_UPSTREAM: upstream.origin } : {}),
      },
      {},
    );
    const spec = row === 'sidecar' ? pageRequest(superuserKey) : authRequest(superuserKey);
    const capacity = await runOnce(
      { id: row, origin: fg.origin, source: one(spec), expect: 200, pid: fg.proc.pid },
      64,
      5,
    );
    const rate = Math.round(capacity.result.rps * SHARE);
    log(
      `\n== soak: ${row}, ${minutes} min at ${fmtRps(rate)} req/s (80 % of ${fmtRps(capacity.result.rps)})`,
    );
    const samples = await steady(fg.origin, fg.adminOrigin, fg.proc.pid, spec, rate, minutes * 60_000);
    results.push(summarize(row, rate, capacity.result.rps, samples));
    await fg.proc.stop();
  }
  await stopAll();
  const text = results.join('\n\n');
  process.stdout.write(`\n${text}\n`);
  if (args.write) {
    mkdirSync(join(REPO, 'docs'), { recursive: true });
    writeFileSync(join(REPO, 'docs/soak.md'), soakDoc(minutes, started, text));
    log('wrote docs/soak.md');
  }
}

/** Requests at `rate` a second over keep-alive connections (at most 64), for `ms`; a sample every 10 s. */
async function steady(
  origin: string,
  adminOrigin: string,
  pid: number,
  spec: ReturnType<typeof pageRequest>,
  rate: number,
  ms: number,
): Promise<SoakSample[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const url = new URL(origin);
  let sent = 0;
  let errors = 0;
  let backlog = 0;
  let inFlight = 0;
  const fire = () => {
    if (inFlight >= 256) {
      backlog++; // far behind: not sent, counted apart from the server's errors
      return;
    }
    inFlight++;
    sent++;
    const request = http.get(
      { host: url.hostname, port: url.port, path: spec.path, headers: spec.headers, agent },
      (response) => {
        if (response.statusCode !== 200) errors++;
        response.resume();
        response.on('end', () => inFlight--);
      },
    );
    request.on('error', () => {
      errors++;
      inFlight--;
    });
  };
  const started = performance.now();
  let due = 0;
  const tick = setInterval(() => {
    const target = Math.floor(((performance.now() - started) / 1000) * rate);
    while (due < target) {
      fire();
      due++;
    }
  }, 5);
  const samples: SoakSample[] = [];
  await scrape(adminOrigin); // resets the delay histogram: samples cover their own 10 s
  while (performance.now() - started < ms) {
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    const scraped = await scrape(adminOrigin);
    const sample: SoakSample = {
      at: Math.round((performance.now() - started) / 1000),
      rssMiB: (memoryOf(pid)?.rssKiB ?? 0) / 1024,
      heapUsedMiB: scraped.heapUsedMiB,
      loopP99Ms: scraped.p99,
      loopMaxMs: scraped.max,
      sent,
      errors,
      backlog,
    };
    samples.push(sample);
    log(
      `  ${String(sample.at).padStart(4)} s: RSS ${fmtMiB(sample.rssMiB)} MiB, heap used ${fmt(sample.heapUsedMiB)} MiB, event-loop delay p99 ${fmt(sample.loopP99Ms)} ms max ${fmt(sample.loopMaxMs)} ms, ${sent} sent, ${errors} errors, ${backlog} not sent (backlog)`,
    );
  }
  clearInterval(tick);
  agent.destroy();
  return samples;
}

const fmt = (value: number | null) => (value === null ? '–' : value.toFixed(1));

interface Scraped {
  readonly p99: number | null;
  readonly max: number | null;
  readonly heapUsedMiB: number | null;
}
/** flowergate's own event-loop delay (reset at each scrape) and V8 heap in use, from prom-client's default metrics. */
async function scrape(adminOrigin: string): Promise<Scraped> {
  try {
    const text = await (await fetch(`${adminOrigin}/metrics`)).text();
    const value = (name: string) => {
      const match = new RegExp(`^flowergate_nodejs_${name} (\\S+)$`, 'm').exec(text);
      return match ? Number(match[1]) : null;
    };
    const ms = (seconds: number | null) => (seconds === null ? null : seconds * 1000);
    const heap = value('heap_size_used_bytes');
    return {
      p99: ms(value('eventloop_lag_p99_seconds')),
      max: ms(value('eventloop_lag_max_seconds')),
      heapUsedMiB: heap === null ? null : heap / 2 ** 20,
    };
  } catch {
    return { p99: null, max: null, heapUsedMiB: null };
  }
}

function summarize(row: string, rate: number, capacity: number, samples: readonly SoakSample[]): string {
  const after = samples.filter((s) => s.at * 1000 > WARM_UP_MS);
  const base = after[0]?.rssMiB ?? null;
  const top = after.length ? Math.max(...after.map((s) => s.rssMiB)) : null;
  const growth = base && top ? top / base - 1 : null;
  const heaps = after.map((s) => s.heapUsedMiB).filter((mib) => mib !== null);
  const heap = heaps.length
    ? `; V8 heap in use after warm-up ${fmt(heaps[0] ?? null)} → peak ${fmt(Math.max(...heaps))} MiB`
    : '';
  const last = samples.at(-1);
  const flat = growth !== null && growth <= GROWTH_MAX;
  const clean = last?.errors === 0;
  const table = [
    '| s | RSS MiB | heap used MiB | event-loop delay p99 ms | max ms | sent | errors | not sent (backlog) |',
    '|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...samples.map(
      (s) =>
        `| ${s.at} | ${fmtMiB(s.rssMiB)} | ${fmt(s.heapUsedMiB)} | ${fmt(s.loopP99Ms)} | ${fmt(s.loopMaxMs)} | ${s.sent} | ${s.errors} | ${s.backlog} |`,
    ),
  ].join('\n');
  return [
    `### ${row}: ${fmtRps(rate)} req/s asked (80 % of ${fmtRps(capacity)}), ${fmtRps((last?.sent ?? 0) / (last?.at || 1))} req/s sent, ${samples.length * (SAMPLE_MS / 1000)} s`,
    '',
    `RSS after warm-up (${WARM_UP_MS / 1000} s): ${base === null ? 'no sample (soak shorter than the warm-up)' : `${fmtMiB(base)} → peak ${fmtMiB(top)} MiB (${((growth ?? 0) * 100).toFixed(1)} %)`}; ${flat ? 'flat' : base === null ? 'not judged' : '**grew more than 10 %**'}${heap}; errors: ${last?.errors ?? 0}${clean ? '' : ' **(must be 0)**'}; not sent for a backlog of 256: ${last?.backlog ?? 0}${last?.backlog ? ' (more than this client or the server kept up with)' : ''}.`,
    '',
    table,
  ].join('\n');
}

function soakDoc(minutes: number, started: Date, text: string): string {
  const machine = describeMachine();
  return `# Soak

Written by \`npm run bench -- --soak ${minutes} --write\` (see [benchmarks.md](benchmarks.md)): each row for
${minutes} min at about 80 % of the requests/s it reached in a closed-loop run just before, sent at a steady
rate over up to 64 keep-alive connections by a Node client on the load generator's CPU. Every 10 s:
flowergate's resident memory (\`VmRSS\`), its V8 heap in use (live objects and garbage not yet
collected) and its event-loop delay since the previous sample (p99 and maximum; both from its own
\`/metrics\`). Memory is judged after the first minute (warm-up): flat means no sample
more than 10 % above the first one after it. A request that failed or got another status than 200 is an
error; one that found 256 requests already waiting is not sent and counted apart (a backlog: the server,
or this Node client on one busy CPU, did not keep up with the rate).

- date: ${started.toISOString().replace(/\.\d+Z$/, 'Z')}; machine: ${machine.cpus} CPUs (${machine.model}), ${machine.kernel}; load average at start ${machine.loadAverage}; Node ${machine.node}

${text}
`;
}
