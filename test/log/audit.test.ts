import test from 'ava';
import { type AuditEntry, createAuditLog } from '../../src/log/audit.ts';
import { createLogger } from '../../src/log/logger.ts';
import { captureLines } from './capture.ts';

const allow: AuditEntry = {
  requestId: 'req-1',
  dialect: 'nginx',
  method: 'GET',
  host: 'flower.example.com',
  path: '/flower/tasks',
  client: '10.0.0.7',
  user: 'alice',
  decision: 'allow',
  reason: 'ok',
  cache: 'hit',
  durationMs: 0.123456,
};
const forbidden: AuditEntry = {
  ...allow,
  requestId: 'req-2',
  user: 'bob',
  decision: 'forbidden',
  reason: 'not_superuser',
};
const anonymous: AuditEntry = {
  ...allow,
  requestId: 'req-3',
  user: null,
  decision: 'unauthenticated',
  reason: 'no_cookie',
};
const failed: AuditEntry = {
  ...allow,
  requestId: 'req-4',
  user: null,
  decision: 'error',
  reason: 'store_unavailable',
};

/** A random() that replays fixed values. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

function setup(
  allowSampleRate: number,
  random?: () => number,
  budget: { unauthenticatedPerSecond: number; now?: () => number } = { unauthenticatedPerSecond: 0 },
) {
  const out = captureLines();
  const logger = createLogger({ level: 'info', destination: out });
  return {
    out,
    audit: createAuditLog({ logger, allowSampleRate, ...(random ? { random } : {}), ...budget }),
  };
}

test('one line per decision with who, what and why', (t) => {
  const { out, audit } = setup(1);
  audit.record(allow);
  const [line] = out.records();
  t.like(line, {
    level: 'info',
    component: 'audit',
    msg: 'decision',
    requestId: 'req-1',
    dialect: 'nginx',
    method: 'GET',
    host: 'flower.example.com',
    path: '/flower/tasks',
    client: '10.0.0.7',
    user: 'alice',
    decision: 'allow',
    reason: 'ok',
    durationMs: 0.123,
  });
  t.false('sampleRate' in line!, 'unsampled lines say nothing about sampling');
});

test('denials and errors are logged, even when repeated allows are not', (t) => {
  const { out, audit } = setup(0, () => 0);
  for (const entry of [allow, forbidden, anonymous, failed, allow]) audit.record(entry);
  t.deepEqual(
    out.records().map((r) => [r.level, r.decision, r.reason, r.user]),
    [
      ['info', 'forbidden', 'not_superuser', 'bob'],
      ['info', 'unauthenticated', 'no_cookie', null],
      ['warn', 'error', 'store_unavailable', null],
    ],
  );
});

test('repeated allows (a read on a cached verdict, a public path) are sampled at allowSampleRate, and sampled lines carry the rate', (t) => {
  const { out, audit } = setup(0.25, sequence(0.1, 0.3, 0.2499, 0.25, 0.9, 0));
  for (let i = 0; i < 5; i++) audit.record({ ...allow, requestId: `r${i}` });
  audit.record({ ...allow, requestId: 'r5', reason: 'public', cache: 'miss', user: null });
  audit.record(forbidden);
  t.deepEqual(
    out.records().map((r) => [r.requestId, r.sampleRate]),
    [
      ['r0', 0.25],
      ['r2', 0.25],
      ['r5', 0.25],
      ['req-2', undefined],
    ],
  );
});

test('allows that say something new are always logged: a fresh verdict, an unsafe method', (t) => {
  const { out, audit } = setup(0, () => 0);
  audit.record({ ...allow, requestId: 'cached-get' });
  audit.record({ ...allow, requestId: 'fresh-get', cache: 'miss' });
  audit.record({ ...allow, requestId: 'cached-post', method: 'POST', path: '/flower/api/task/revoke/1' });
  audit.record({ ...allow, requestId: 'cached-delete', method: 'DELETE' });
  audit.record({ ...allow, requestId: 'cached-head', method: 'HEAD' });
  t.deepEqual(
    out.records().map((r) => [r.requestId, r.method, r.sampleRate]),
    [
      ['fresh-get', 'GET', undefined],
      ['cached-post', 'POST', undefined],
      ['cached-delete', 'DELETE', undefined],
    ],
  );
});

test('the path is bounded and loses its query string', (t) => {
  const { out, audit } = setup(1);
  audit.record({ ...allow, path: `/flower/${'a'.repeat(5000)}?token=abc` });
  audit.record({ ...allow, path: '/flower/api/tasks?access_token=s3cr3t&limit=10' });
  const [long, query] = out.records() as [{ path: string }, { path: string }];
  t.is(long.path.length, 513);
  t.true(long.path.endsWith('…'));
  t.is(query.path, '/flower/api/tasks');
  t.false(out.lines.join('').includes('s3cr3t'));
});

test('client-supplied fields are bounded', (t) => {
  const { out, audit } = setup(1);
  audit.record({
    ...forbidden,
    method: 'X'.repeat(100),
    host: 'h'.repeat(1000),
    user: 'u'.repeat(1000),
    requestId: 'r'.repeat(1000),
  });
  const [line] = out.records() as [Record<string, string>];
  t.true(line.method!.length <= 17);
  t.true(line.host!.length <= 256);
  t.true(line.user!.length <= 151);
  t.true(line.requestId!.length <= 129);
});

test('past unauthenticatedPerSecond, a flood of unauthenticated decisions is one line a second saying how many were left out', async (t) => {
  let clock = 1_000_000;
  const { out, audit } = setup(1, undefined, { unauthenticatedPerSecond: 3, now: () => clock });
  for (let i = 0; i < 10; i++) audit.record({ ...anonymous, requestId: `flood-${i}` });
  // Within the same second: forbidden users, errors and allows are never left out.
  audit.record(forbidden);
  audit.record(failed);
  audit.record({ ...allow, cache: 'miss' });
  t.deepEqual(
    out.records().map((r) => r.requestId),
    ['flood-0', 'flood-1', 'flood-2', 'req-2', 'req-4', 'req-1'],
  );
  clock += 1000; // the next window's first event reports the last one's
  audit.record({ ...anonymous, requestId: 'next' });
  const [summary, next] = out.records().slice(6);
  t.like(summary, { level: 'warn', component: 'audit', leftOut: 7, limit: 3 });
  t.regex(String(summary?.msg), /^7 unauthenticated decisions were not logged/);
  t.is(summary?.since, new Date(1_000_000).toISOString());
  t.is(next?.requestId, 'next');

  // A flood that stops is still reported, a second after its first left-out line.
  for (let i = 0; i < 5; i++) audit.record({ ...anonymous, requestId: `tail-${i}` });
  t.is(out.records().length, 10);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  t.like(out.records()[10], { level: 'warn', leftOut: 3 });
});

test('unauthenticatedPerSecond 0 writes every unauthenticated decision', (t) => {
  const { out, audit } = setup(1, undefined, { unauthenticatedPerSecond: 0, now: () => 0 });
  for (let i = 0; i < 500; i++) audit.record(anonymous);
  t.is(out.records().length, 500);
});

test('during an outage, error decisions of one reason are one line an interval plus one counting the rest', (t) => {
  let clock = 5_000_000;
  const out = captureLines();
  const audit = createAuditLog({
    logger: createLogger({ level: 'info', destination: out }),
    allowSampleRate: 1,
    unauthenticatedPerSecond: 0,
    now: () => clock,
    errorIntervalMs: 10_000,
  });
  for (let i = 0; i < 300; i++) audit.record({ ...failed, requestId: `down-${i}` });
  audit.record({ ...failed, requestId: 'kube', reason: 'kube_unavailable' });
  // Forbidden users are never left out, whatever else is going on.
  audit.record(forbidden);
  t.deepEqual(
    out.records().map((r) => r.requestId),
    ['down-0', 'kube', 'req-2'],
  );
  clock += 10_000;
  audit.record({ ...failed, requestId: 'later' });
  const [summary, later] = out.records().slice(3);
  t.like(summary, { level: 'warn', component: 'audit', reason: 'store_unavailable', leftOut: 299 });
  t.regex(String(summary?.msg), /^299 more error decisions \(store_unavailable\) were not logged/);
  t.is(summary?.since, new Date(5_000_000).toISOString());
  t.is(later?.requestId, 'later');
  audit.record({ ...failed, requestId: 'left-out' });
  audit.flush();
  t.like(out.records()[5], { reason: 'store_unavailable', leftOut: 1 });
  t.is(out.records().length, 6);
});

test('refusals of requests that name no user share the per-second budget; a forbidden user never does', (t) => {
  const clock = 7_000_000;
  const out = captureLines();
  const audit = createAuditLog({
    logger: createLogger({ level: 'info', destination: out }),
    allowSampleRate: 1,
    unauthenticatedPerSecond: 2,
    now: () => clock,
  });
  const shape: AuditEntry = { ...anonymous, decision: 'forbidden', reason: 'ambiguous_path' };
  for (let i = 0; i < 50; i++) audit.record({ ...shape, requestId: `dots-${i}` });
  for (let i = 0; i < 5; i++) audit.record({ ...forbidden, requestId: `bob-${i}` });
  t.deepEqual(
    out.records().map((r) => r.requestId),
    ['dots-0', 'dots-1', 'bob-0', 'bob-1', 'bob-2', 'bob-3', 'bob-4'],
  );
  audit.flush();
  const [summary] = out.records().slice(7);
  t.like(summary, { level: 'warn', component: 'audit', leftOut: 48, limit: 2 });
  t.regex(String(summary?.msg), /^48 refusals of requests naming no user were not logged/);
});
