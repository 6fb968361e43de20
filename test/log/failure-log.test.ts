// Repeated failures are summarised: the unit (a clock and timers moved by hand), then real outages — a
// PostgreSQL session store nobody listens for, an upstream that refuses — under a flood of real Django
// sessions, counting the log lines, the answers and the metrics.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { createFailureLog, FAILURE_LOG_INTERVAL_MS } from '../../src/log/failure-log.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { ThrottleTimers } from '../../src/log/throttle.ts';
import { NOTHING_LISTENS, PREFIX, startGate } from '../proxy/harness.ts';
import {
  djangoTool,
  shared,
  startDjangoSite,
  startFlowergateInProcess,
  startFlowergateProcess,
} from '../support/e2e.ts';
import { startApi } from '../support/kube/harness.ts';
import { toolTest } from '../support/require-tool.ts';
import { captureLines } from './capture.ts';

test('the first failure of a kind is written with its stack; the rest of the interval is one counting line', (t) => {
  let clock = 2_000_000;
  const due: Array<() => void> = [];
  const timers: ThrottleTimers = { set: (run) => due.push(run), clear: () => {} };
  const out = captureLines();
  const failures = createFailureLog({
    logger: createLogger({ level: 'info', destination: out }),
    now: () => clock,
    timers,
  });
  const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'STORE_UNAVAILABLE' });
  for (let i = 0; i < 1000; i++)
    failures.record('STORE_UNAVAILABLE', 'error', { err: down, requestId: `r${i}` }, 'decision failed');
  failures.record('upstream_connect', 'warn', { requestId: 'u1' }, 'upstream failed; answered 502');

  const [first, upstream] = out.records();
  t.like(first, { level: 'error', failure: 'STORE_UNAVAILABLE', requestId: 'r0', msg: 'decision failed' });
  const err = (first?.['err'] ?? {}) as { stack?: string };
  t.regex(String(err.stack), /ECONNREFUSED[\s\S]*at /);
  t.like(upstream, { level: 'warn', failure: 'upstream_connect', requestId: 'u1' });
  t.is(out.lines.length, 2);

  clock += FAILURE_LOG_INTERVAL_MS;
  for (const run of due) run();
  const [summary] = out.records().slice(2);
  t.like(summary, {
    level: 'error',
    failure: 'STORE_UNAVAILABLE',
    leftOut: 999,
    since: new Date(2_000_000).toISOString(),
    intervalMs: FAILURE_LOG_INTERVAL_MS,
  });
  t.regex(String(summary?.['msg']), /^999 more STORE_UNAVAILABLE failures were not logged/);
  t.is(out.lines.length, 3, 'the other kind left nothing out, so it has no summary');
});

test('a kind that is not a plain code cannot grow the table or the line: it is counted as "other"', (t) => {
  const out = captureLines();
  const failures = createFailureLog({ logger: createLogger({ level: 'info', destination: out }) });
  for (let i = 0; i < 100; i++) failures.record(`weird kind ${i}\n`, 'error', {}, 'boom');
  failures.flush();
  t.deepEqual(
    out.records().map((r) => [r['failure'], r['leftOut'] ?? null]),
    [
      ['other', null],
      ['other', 99],
    ],
  );
});

const maybe = await toolTest('tornado', djangoTool());

const env = shared(async (t) => {
  const site = await startDjangoSite({ t });
  return { site, cookie: await site.cookie('root') };
});

/** `count` requests, `parallel` at a time on keep-alive connections; returns each status. */
async function flood(count: number, parallel: number, send: (agent: http.Agent) => Promise<number>) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: parallel });
  const statuses: number[] = [];
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next++ < count) statuses.push(await send(agent));
      }),
    );
  } finally {
    agent.destroy();
  }
  return statuses;
}

function get(agent: http.Agent, url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

const sum = (metrics: string, pattern: RegExp) =>
  metrics
    .split('\n')
    .filter((line) => pattern.test(line))
    .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);

/** Written in full plus counted in summaries: every failure accounted for exactly once. */
const accounted = (lines: Record<string, unknown>[], full: (line: Record<string, unknown>) => boolean) =>
  lines.filter(full).length +
  lines
    .filter((line) => typeof line['leftOut'] === 'number')
    .reduce((n, line) => n + Number(line['leftOut']), 0);

maybe(
  'a session-store outage under 1,500 requests adds a handful of log lines, and every request is answered 503 and counted',
  async (t) => {
    const { site, cookie } = await env();
    const gate = await startFlowergateInProcess({
      site,
      // Nothing listens on port 1: every lookup is refused, as when the database is down.
      env: { FLOWERGATE_DJANGO_DATABASE_URL: 'postgres://flowergate@127.0.0.1:1/django' },
      t,
    });
    const before = gate.logs().length;
    const statuses = await flood(1500, 20, (agent) =>
      get(agent, `${gate.url}/_flowergate/auth/nginx`, {
        cookie,
        'x-original-url': 'http://flower.example/flower/api/workers',
        'x-original-method': 'GET',
        accept: 'application/json',
      }),
    );
    t.is(statuses.length, 1500);
    t.deepEqual([...new Set(statuses)], [503], 'every request failed closed');
    const metrics = await gate.registry.metrics();
    t.is(
      sum(metrics, /^flowergate_auth_decisions_total\{.*decision="error".*reason="store_unavailable"/),
      1500,
    );

    await gate.stop(); // writes the summaries still pending
    const added = gate.logs().slice(before);
    t.true(added.length <= 150, `${added.length} log lines for 1,500 failing requests`);
    t.log(`${added.length} log lines for 1,500 failing requests`);
    const failures = added.filter((line) => line['failure'] === 'STORE_UNAVAILABLE');
    const audits = added.filter((line) => line['component'] === 'audit');
    t.is(
      accounted(failures, (line) => line['msg'] === 'decision failed; answered 503'),
      1500,
    );
    t.is(
      accounted(audits, (line) => line['decision'] === 'error'),
      1500,
    );
    t.true(
      failures.some((line) => /ECONNREFUSED|STORE_UNAVAILABLE/.test(JSON.stringify(line['err'] ?? ''))),
      'the first failure says why, with its error',
    );
    const sessionKey = cookie.slice(cookie.indexOf('=') + 1);
    t.false(JSON.stringify(added).includes(sessionKey), 'no session key in the log');
  },
);

maybe(
  'an upstream that is down is one failure line per interval plus a count, and every request is answered 502 and counted',
  async (t) => {
    const { site, cookie } = await env();
    const gate = await startGate({ site, upstream: NOTHING_LISTENS, t });
    const statuses = await flood(300, 10, (agent) =>
      get(agent, `${gate.url}${PREFIX}/api/workers`, { cookie, accept: 'application/json' }),
    );
    t.deepEqual([...new Set(statuses)], [502]);
    const metrics = await gate.metrics();
    t.is(sum(metrics, /^flowergate_proxy_upstream_errors_total\{kind="connect"\}/), 300);
    await gate.stop();
    const failures = gate.logs().filter((line) => line['failure'] === 'upstream_connect');
    t.true(failures.length <= 10, `${failures.length} upstream failure lines for 300 requests`);
    t.is(
      accounted(failures, (line) => line['msg'] === 'upstream failed; answered 502'),
      300,
    );
  },
);

maybe(
  'a Kubernetes API outage under a flood of service-account tokens is summarised the same way; every request is answered 503',
  async (t) => {
    const { site } = await env();
    const api = await startApi(t, { allow: () => true });
    api.failAll({ kind: 'status', code: 500 });
    const dir = mkdtempSync(join(tmpdir(), 'fg-kube-down-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'kubeconfig'), api.kubeconfig());
    const gate = await startFlowergateProcess({
      site,
      env: { FLOWERGATE_KUBERNETES_TOKEN_AUTH: 'true', KUBECONFIG: join(dir, 'kubeconfig') },
      t,
    });
    let token = 0;
    // A token never seen before each time, so no cached review answers for the API server.
    const statuses = await flood(300, 10, (agent) =>
      get(agent, `${gate.url}/_flowergate/auth/nginx`, {
        authorization: `Bearer ci-token-${++token}-0123456789abcdef`,
        'x-original-url': 'http://flower.example/flower/api/workers',
        'x-original-method': 'GET',
      }),
    );
    t.deepEqual([...new Set(statuses)], [503]);
    await gate.stop(); // SIGTERM: the pending counts are written before exit
    const lines = gate.logs();
    const failures = lines.filter((line) => line['failure'] === 'KUBE_UNAVAILABLE');
    t.true(failures.length <= 10, `${failures.length} lines for 300 requests`);
    t.is(
      accounted(failures, (line) => line['msg'] === 'decision failed; answered 503'),
      300,
    );
    t.false(JSON.stringify(lines).includes('ci-token-'), 'no token in the log');
  },
);
