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

function setup(allowSampleRate: number, random?: () => number) {
  const out = captureLines();
  const logger = createLogger({ level: 'info', destination: out });
  return { out, audit: createAuditLog({ logger, allowSampleRate, ...(random ? { random } : {}) }) };
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

test('denials and errors are always logged, even when repeated allows are not', (t) => {
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
