// Service accounts end to end: the real `flowergate serve` process finds the (fake) API server through
// KUBECONFIG as @kubernetes/client-node does by default, and decides forward-auth requests that carry
// a bearer token. The fake speaks the real authentication.k8s.io/v1 and authorization.k8s.io/v1 JSON.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { createDemoDatabase } from '../../src/demo/demo-database.ts';
import type { AllowFunction } from '../support/kube/fake-apiserver.ts';
import { CI_JOB, CI_TOKEN, PROMETHEUS, PROMETHEUS_TOKEN, startApi } from '../support/kube/harness.ts';
import { freePort, waitForPort } from '../support/processes.ts';

const INVALID_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJub2JvZHkifQ.bm90LWEtdmFsaWQtdG9rZW4tYXQtYWxs';

// RBAC as the cluster would have it: the CI job may GET Flower's API paths, nothing else.
const rbac: AllowFunction = (spec) =>
  spec.user === CI_JOB.username &&
  spec.nonResourceAttributes?.verb === 'get' &&
  (spec.nonResourceAttributes.path ?? '').startsWith('/api/');

test('service-account tokens: rule by name, RBAC by SubjectAccessReview, invalid 401, API down 503, never logged', async (t) => {
  const api = await startApi(t, {
    tokens: { [PROMETHEUS_TOKEN]: { user: PROMETHEUS }, [CI_TOKEN]: { user: CI_JOB } },
    allow: rbac,
  });
  const dir = mkdtempSync(join(tmpdir(), 'fg-sa-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const secret = 'service-account-e2e-secret-key-0123456789abcdef';
  createDemoDatabase(
    join(dir, 'db.sqlite3'),
    secret,
    [{ username: 'root', isSuperuser: true, isStaff: true }],
    1000,
  );
  writeFileSync(join(dir, 'kubeconfig'), api.kubeconfig());
  writeFileSync(
    join(dir, 'config.yaml'),
    [
      'policy:',
      '  rules:',
      '    - name: prometheus scrapes metrics',
      '      methods: [GET]',
      '      path: { exact: /metrics }',
      '      require: serviceaccount:monitoring/prometheus',
    ].join('\n'),
  );
  const [port, adminPort] = [await freePort(), await freePort()];
  const server = spawn(process.execPath, ['src/cli.ts', 'serve', '--config', join(dir, 'config.yaml')], {
    env: {
      ...process.env,
      KUBECONFIG: join(dir, 'kubeconfig'),
      FLOWERGATE_DJANGO_SECRET_KEY: secret,
      FLOWERGATE_DJANGO_DATABASE_URL: `sqlite:///${join(dir, 'db.sqlite3')}`,
      FLOWERGATE_KUBERNETES_TOKEN_AUTH: 'true',
      // not under test (the outage below is a 500): room for a fresh TLS connection on a busy machine
      FLOWERGATE_KUBERNETES_TIMEOUT: '10',
      FLOWERGATE_LISTEN: `127.0.0.1:${port}`,
      FLOWERGATE_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
      FLOWERGATE_LOG_LEVEL: 'debug',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  server.stdout.on('data', (chunk: Buffer) => (logs += chunk));
  server.stderr.on('data', (chunk: Buffer) => (logs += chunk));
  t.teardown(() => {
    server.kill('SIGKILL');
  });
  // a start bound, not a performance target: a busy machine took over 20 s; a process that exits fails at once
  await waitForPort(port, {
    timeoutMs: 60_000,
    alive: () => server.exitCode === null && server.signalCode === null,
  }).catch((error: Error) => {
    throw new Error(`${error.message}\n--- flowergate output ---\n${logs}`);
  });

  const ask = (token: string | null, uri: string, method = 'GET') =>
    fetch(`http://127.0.0.1:${port}/_flowergate/auth/forward`, {
      headers: {
        'X-Forwarded-Host': 'flower.example.com',
        'X-Forwarded-Uri': uri,
        'X-Forwarded-Method': method,
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
    });

  // A rule that names the service account admits it directly.
  const scrape = await ask(PROMETHEUS_TOKEN, '/metrics');
  t.is(scrape.status, 200);
  t.is(scrape.headers.get('x-auth-request-user'), PROMETHEUS.username);
  t.is(api.accessReviews().length, 0);

  // Elsewhere RBAC decides, through a SubjectAccessReview that says exactly what was asked.
  t.is((await ask(CI_TOKEN, '/api/workers?refresh=1')).status, 200);
  t.like(api.accessReviews().at(-1), {
    user: CI_JOB.username,
    groups: CI_JOB.groups,
    nonResourceAttributes: { path: '/api/workers', verb: 'get' },
  });
  const denied = await ask(CI_TOKEN, '/api/worker/shutdown/celery@w1', 'POST');
  t.is(denied.status, 403);
  t.like(await denied.json(), { reason: 'kube_access_denied' });
  t.like(api.accessReviews().at(-1), {
    nonResourceAttributes: { path: '/api/worker/shutdown/celery@w1', verb: 'create' },
  });
  // Prometheus's token is valid, but the metrics rule doesn't cover /api/: RBAC says no.
  t.is((await ask(PROMETHEUS_TOKEN, '/api/workers')).status, 403);

  const invalid = await ask(INVALID_TOKEN, '/api/workers');
  t.is(invalid.status, 401);
  t.like(await invalid.json(), { reason: 'kube_token_invalid' });

  // Cached: asking again costs no review.
  const reviews = api.reviews.length;
  t.is((await ask(CI_TOKEN, '/api/workers?refresh=1')).status, 200);
  t.is(api.reviews.length, reviews);

  // The API server failing means 503, never an allow (a token not seen before, so nothing is cached).
  api.tokens['fresh-token-for-outage-0123456789'] = { user: CI_JOB };
  api.failAll({ kind: 'status', code: 500 });
  const outage = await ask('fresh-token-for-outage-0123456789', '/api/workers');
  t.is(outage.status, 503);
  t.like(await outage.json(), { reason: 'kube_unavailable' });
  api.failAll(null);

  const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  t.regex(metrics, /flowergate_kube_reviews_total\{kind="token",result="allow",cached="false"\} [1-9]/);
  t.regex(metrics, /flowergate_kube_reviews_total\{kind="access",result="deny",cached="false"\} [1-9]/);
  t.regex(metrics, /flowergate_kube_reviews_total\{kind="token",result="error",cached="false"\} [1-9]/);

  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
  t.true(logs.includes('"component":"audit"'), 'the audit log was written');
  for (const token of [PROMETHEUS_TOKEN, CI_TOKEN, INVALID_TOKEN, 'fresh-token-for-outage-0123456789']) {
    t.false(logs.includes(token), 'a bearer token reached the logs');
    t.false(logs.includes(token.slice(-16)), 'part of a bearer token reached the logs');
  }
});
