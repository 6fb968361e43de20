import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import test from 'ava';
import type { FlowergateError } from '../../src/errors.ts';
import { createKubeClient, loadKubeConfig, withDeadline } from '../../src/kube/kube-client.ts';
import { PROMETHEUS, PROMETHEUS_TOKEN, startApi, testPki, warmUpClient } from '../support/kube/harness.ts';
import {
  kubeconfigYaml,
  loadInClusterKubeConfig,
  loadKubeConfigFromFile,
  loadKubeConfigFromString,
  makeTempDir,
  withEnv,
  writeInClusterDir,
  writeKubeconfig,
} from '../support/kube/kubeconfig.ts';
import { createTestPki } from '../support/kube/pki.ts';

const tokens = { [PROMETHEUS_TOKEN]: { user: PROMETHEUS } };

test.before(warmUpClient);

async function eventually(check: () => boolean, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return check();
}

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

test('reviews a token through a kubeconfig loaded from a string', async (t) => {
  const api = await startApi(t, { tokens });
  const client = createKubeClient({
    kubeConfig: loadKubeConfigFromString(api.kubeconfig()),
    timeoutMs: 10_000,
  });
  t.teardown(() => client.close());
  const status = await client.reviewToken({ token: PROMETHEUS_TOKEN });
  t.true(status.authenticated);
  t.is(status.user?.username, PROMETHEUS.username);
  t.deepEqual(api.tokenReviews(), [{ token: PROMETHEUS_TOKEN }]);
  t.true(api.reviews[0]?.callerAuthorized);
});

test('reviews through a kubeconfig file and through KUBECONFIG with loadKubeConfig()', async (t) => {
  const api = await startApi(t, { tokens });
  const dir = makeTempDir();
  t.teardown(dir.remove);
  const file = writeKubeconfig(dir.path, { server: api.url, caPem: api.caPem, token: api.callerToken });
  for (const kubeConfig of [loadKubeConfigFromFile(file), withEnv({ KUBECONFIG: file }, loadKubeConfig)]) {
    const client = createKubeClient({ kubeConfig, timeoutMs: 10_000 });
    t.teardown(() => client.close());
    t.true((await client.reviewToken({ token: PROMETHEUS_TOKEN })).authenticated);
  }
  t.is(api.tokenReviews().length, 2);
});

test('reviews through the in-cluster service-account files (loadFromCluster)', async (t) => {
  const api = await startApi(t, { tokens, callerToken: 'pod-service-account-token' });
  const dir = makeTempDir();
  t.teardown(dir.remove);
  const layout = writeInClusterDir(dir.path, {
    server: api.url,
    caPem: api.caPem,
    token: 'pod-service-account-token',
  });
  const client = createKubeClient({ kubeConfig: loadInClusterKubeConfig(layout), timeoutMs: 10_000 });
  t.teardown(() => client.close());
  const status = await client.reviewAccess({
    user: 'alice',
    nonResourceAttributes: { path: '/metrics', verb: 'get' },
  });
  t.false(status.allowed);
  t.true(api.reviews[0]?.callerAuthorized);
});

test('a slow API server fails with KUBE_UNAVAILABLE at the timeout, and the request is aborted', async (t) => {
  const api = await startApi(t, { tokens });
  const client = createKubeClient({
    kubeConfig: loadKubeConfigFromString(api.kubeconfig()),
    // 5 s: the warm-up request below, on a fresh TLS connection, must fit in it on a busy machine too
    timeoutMs: 5000,
  });
  t.teardown(() => client.close());
  // A warm connection first, so the slow request surely reaches the server even on a loaded machine.
  await client.reviewToken({ token: PROMETHEUS_TOKEN });
  api.failAll({ kind: 'delay', ms: 60_000 });
  const started = performance.now();
  const error = await t.throwsAsync<FlowergateError>(client.reviewToken({ token: PROMETHEUS_TOKEN }), {
    code: 'KUBE_UNAVAILABLE',
  });
  const elapsed = performance.now() - started;
  // at the timeout: not before it, and not when the server (60 s late) finally answers
  t.true(elapsed >= 4990 && elapsed < 30_000, `took ${elapsed} ms`);
  t.is(api.tokenReviews().length, 2);
  t.is(error?.status, 503);
  t.regex(error?.message ?? '', /did not answer within 5000 ms/);
  t.true(await eventually(() => api.aborted() === 1), 'the server saw the client go away');
});

/** A TCP front for the fake API server that swallows its first `hang` connections: a TLS handshake that never ends. */
async function hangingFront(t: { teardown(fn: () => void): void }, upstreamPort: number, hang: number) {
  const held: Socket[] = [];
  const front = createServer((socket) => {
    if (held.length < hang) {
      held.push(socket);
      socket.resume();
      return;
    }
    const upstream = connect(upstreamPort, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    const end = () => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  }).listen(0, '127.0.0.1');
  await once(front, 'listening');
  t.teardown(() => {
    // Otherwise undici's own connect timeout (10 s) would hold the test process open.
    for (const socket of held) socket.destroy();
    front.close();
  });
  return { port: (front.address() as AddressInfo).port, held };
}

test('a TLS handshake that never ends fails at the timeout, and does not block the next review', async (t) => {
  const api = await startApi(t, { tokens });
  const front = await hangingFront(t, api.port, 1);
  const yaml = kubeconfigYaml({
    server: `https://127.0.0.1:${front.port}`,
    caPem: api.caPem,
    token: api.callerToken,
  });
  const client = createKubeClient({ kubeConfig: loadKubeConfigFromString(yaml), timeoutMs: 3000 });
  t.teardown(() => client.close());
  const started = performance.now();
  await t.throwsAsync(client.reviewToken({ token: PROMETHEUS_TOKEN }), {
    code: 'KUBE_UNAVAILABLE',
    message: /did not answer within 3000 ms/,
  });
  // our 3 s deadline, with room for a busy machine, before undici's own 10 s connect timeout
  t.true(performance.now() - started < 9000);
  t.is(front.held.length, 1);
  // undici keeps trying the hung connection after the abort; a fresh pool does not wait behind it.
  t.true((await client.reviewToken({ token: PROMETHEUS_TOKEN })).authenticated);
  t.is(api.tokenReviews().length, 1);
});

test('an API server that is down fails with KUBE_UNAVAILABLE naming the socket error', async (t) => {
  const port = await closedPort();
  const yaml = kubeconfigYaml({ server: `https://127.0.0.1:${port}`, caPem: testPki().caPem, token: 'x' });
  const client = createKubeClient({ kubeConfig: loadKubeConfigFromString(yaml), timeoutMs: 10_000 });
  await t.throwsAsync(client.reviewToken({ token: PROMETHEUS_TOKEN }), {
    code: 'KUBE_UNAVAILABLE',
    message: `TokenReview failed: cannot reach the Kubernetes API server at https://127.0.0.1:${port} (ECONNREFUSED)`,
  });
});

test('a server certificate from another CA is refused', async (t) => {
  const api = await startApi(t, { tokens });
  const other = createTestPki();
  const client = createKubeClient({
    kubeConfig: loadKubeConfigFromString(api.kubeconfig({ caPem: other.caPem })),
    timeoutMs: 10_000,
  });
  await t.throwsAsync(client.reviewToken({ token: PROMETHEUS_TOKEN }), {
    code: 'KUBE_UNAVAILABLE',
    message: /\(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/,
  });
  t.is(api.reviews.length, 0);
});

test('error answers become KUBE_UNAVAILABLE with a message an operator can act on', async (t) => {
  const api = await startApi(t, { tokens });
  const client = createKubeClient({
    kubeConfig: loadKubeConfigFromString(api.kubeconfig()),
    timeoutMs: 10_000,
  });
  t.teardown(() => client.close());
  const review = () => client.reviewToken({ token: PROMETHEUS_TOKEN });

  api.failNext({ kind: 'status', code: 500 });
  await t.throwsAsync(review, {
    code: 'KUBE_UNAVAILABLE',
    message: 'TokenReview failed: the Kubernetes API server answered 500: InternalError',
  });
  api.failNext({ kind: 'status', code: 500 });
  await t.throwsAsync(client.reviewAccess({ user: 'a', nonResourceAttributes: { path: '/', verb: 'get' } }), {
    code: 'KUBE_UNAVAILABLE',
    message:
      'SubjectAccessReview failed: the Kubernetes API server answered 500: Internal error occurred: injected failure',
  });
  api.failNext({ kind: 'close' }, { kind: 'close' });
  await t.throwsAsync(review, { code: 'KUBE_UNAVAILABLE', message: /\(UND_ERR_SOCKET\)$/ });
  api.failNext({ kind: 'truncated' });
  await t.throwsAsync(review, { code: 'KUBE_UNAVAILABLE', message: /is not valid JSON$/ });
  api.failNext({ kind: 'html' });
  await t.throwsAsync(review, { code: 'KUBE_UNAVAILABLE', message: /is not a TokenReview$/ });

  api.callerForbidden = true;
  await t.throwsAsync(review, {
    code: 'KUBE_UNAVAILABLE',
    message:
      'TokenReview failed: flowergate may not create tokenreviews (403); bind its service account to the ClusterRole system:auth-delegator: Forbidden',
  });
  await t.throwsAsync(client.reviewAccess({ user: 'a', nonResourceAttributes: { path: '/', verb: 'get' } }), {
    code: 'KUBE_UNAVAILABLE',
    message:
      /^SubjectAccessReview failed: flowergate may not create subjectaccessreviews \(403\); bind .*: subjectaccessreviews.authorization.k8s.io is forbidden: User "system:serviceaccount:flower:flowergate" cannot create/,
  });
  api.callerForbidden = false;
  t.true((await review()).authenticated, 'no failure is remembered');
});

test("a wrong caller token is the API server's 401, reported as our credentials", async (t) => {
  const api = await startApi(t, { tokens });
  const client = createKubeClient({
    kubeConfig: loadKubeConfigFromString(api.kubeconfig({ token: 'stale-token' })),
    timeoutMs: 10_000,
  });
  await t.throwsAsync(client.reviewToken({ token: PROMETHEUS_TOKEN }), {
    code: 'KUBE_UNAVAILABLE',
    message: /rejected flowergate's own credentials \(401\)/,
  });
  t.false(api.reviews[0]?.callerAuthorized);
});

test('a connection that breaks under the request is retried once, within the deadline', async (t) => {
  const api = await startApi(t, { tokens });
  const client = createKubeClient({
    kubeConfig: loadKubeConfigFromString(api.kubeconfig()),
    timeoutMs: 10_000,
  });
  t.teardown(() => client.close());
  api.failNext({ kind: 'close' });
  t.true((await client.reviewToken({ token: PROMETHEUS_TOKEN })).authenticated);
  t.is(api.tokenReviews().length, 2);
  api.failNext({ kind: 'status', code: 500 });
  await t.throwsAsync(client.reviewToken({ token: PROMETHEUS_TOKEN }), { message: /answered 500/ });
  t.is(api.tokenReviews().length, 3, 'an HTTP error is an answer, not retried');
});

test('reviews share one TLS connection instead of a handshake each', async (t) => {
  const api = await startApi(t, { tokens });
  const client = createKubeClient({
    kubeConfig: loadKubeConfigFromString(api.kubeconfig()),
    timeoutMs: 10_000,
  });
  t.teardown(() => client.close());
  for (let i = 0; i < 10; i++) await client.reviewToken({ token: PROMETHEUS_TOKEN });
  // Back to back, the first socket is not yet back in the pool when the second call starts: two at most.
  t.true(api.connections() <= 2, `${api.connections()} connections for 10 reviews`);
});

test('the connection pool is renewed after its maximum age', async (t) => {
  const api = await startApi(t, { tokens });
  let now = 0;
  const client = createKubeClient({
    kubeConfig: loadKubeConfigFromString(api.kubeconfig()),
    timeoutMs: 10_000,
    connectionMaxAgeMs: 1000,
    now: () => now,
  });
  t.teardown(() => client.close());
  await client.reviewToken({ token: PROMETHEUS_TOKEN });
  await new Promise((r) => setTimeout(r, 20));
  now = 999;
  await client.reviewToken({ token: PROMETHEUS_TOKEN });
  t.is(api.connections(), 1);
  now = 1000;
  await client.reviewToken({ token: PROMETHEUS_TOKEN });
  t.is(api.connections(), 2);
});

test('withDeadline settles at the deadline even when the work ignores the signal', async (t) => {
  let aborted = false;
  const error = await t.throwsAsync(
    withDeadline(50, (signal) => {
      signal.addEventListener('abort', () => {
        aborted = true;
      });
      return new Promise(() => {});
    }),
  );
  t.is(error?.constructor.name, 'ReviewTimeout');
  t.true(aborted);
  t.is(await withDeadline(1000, async () => 'done'), 'done');
});

test('loadKubeConfig refuses the localhost:8080 fallback when no cluster is found', (t) => {
  const home = makeTempDir();
  t.teardown(home.remove);
  const error = t.throws(() => withEnv({ KUBECONFIG: undefined, HOME: home.path }, loadKubeConfig), {
    code: 'CONFIG_INVALID',
  });
  t.regex(error?.message ?? '', /no cluster found: set KUBECONFIG/);
});

test('loadKubeConfig reports a broken kubeconfig without quoting it (it holds credentials)', (t) => {
  const dir = makeTempDir();
  t.teardown(dir.remove);
  const file = join(dir.path, 'kubeconfig');
  writeFileSync(file, `users:\n- name: x\n  user:\n    token: ${PROMETHEUS_TOKEN}\n   bad: [indent\n`);
  const error = t.throws(() => withEnv({ KUBECONFIG: file }, loadKubeConfig), { code: 'CONFIG_INVALID' });
  t.regex(error?.message ?? '', /invalid YAML/);
  t.false(error?.message.includes(PROMETHEUS_TOKEN));
  const missing = t.throws(() => withEnv({ KUBECONFIG: join(dir.path, 'nope') }, loadKubeConfig));
  t.regex(missing?.message ?? '', /ENOENT/);
});
