import test from 'ava';
import type { ConfigInput } from '../../src/config/schema.ts';
import { createKubeAuthenticator, type KubeReviewResult } from '../../src/kube/kube-auth.ts';
import type { AllowFunction, FakeApiServer } from '../support/kube/fake-apiserver.ts';
import {
  CI_JOB,
  CI_TOKEN,
  kubernetesConfig,
  manualClock,
  PROMETHEUS,
  PROMETHEUS_TOKEN,
  startApi,
  warmUpClient,
} from '../support/kube/harness.ts';
import {
  loadInClusterKubeConfig,
  loadKubeConfigFromString,
  makeTempDir,
  writeInClusterDir,
} from '../support/kube/kubeconfig.ts';

type Context = Parameters<typeof startApi>[0];

const METRICS_GRANT =
  'RBAC: allowed by ClusterRoleBinding "flower-metrics" of ClusterRole "flower-metrics" to ServiceAccount "prometheus/monitoring"';

/** Prometheus may GET /metrics; the CI job may do anything under the flower resource's `api` subresource. */
const rbac: AllowFunction = (spec) => {
  const path = spec.nonResourceAttributes;
  if (spec.user === PROMETHEUS.username && path?.path === '/metrics' && path.verb === 'get') {
    return { allowed: true, reason: METRICS_GRANT };
  }
  const resource = spec.resourceAttributes;
  if (spec.groups?.includes('system:serviceaccounts:ci') && resource?.resource === 'flower') {
    return resource.subresource === 'api';
  }
  return false;
};

const tokens = { [PROMETHEUS_TOKEN]: { user: PROMETHEUS }, [CI_TOKEN]: { user: CI_JOB } };

test.before(warmUpClient);

async function setup(t: Context, kubernetes: ConfigInput['kubernetes'] = {}, urlPrefix = '') {
  const api = await startApi(t, { tokens, allow: rbac });
  const clock = manualClock();
  const events: string[] = [];
  const metrics = {
    kubeReview(kind: 'token' | 'access', result: KubeReviewResult, cached: boolean) {
      events.push(`${kind} ${result}${cached ? ' cached' : ''}`);
    },
  };
  const auth = createKubeAuthenticator({
    // 10 s unless a test says otherwise: the default 5 s, not under test here, is short for a fresh TLS
    // connection on a busy machine
    config: kubernetesConfig({ timeout: 10, ...kubernetes }),
    kubeConfig: loadKubeConfigFromString(api.kubeconfig()),
    urlPrefix,
    metrics,
    now: clock.now,
  });
  t.teardown(() => auth.close());
  return { api, auth, clock, events };
}

test('a valid token that RBAC allows is allowed, with the authorizer reason', async (t) => {
  const { auth, events } = await setup(t);
  const user = await auth.authenticate(PROMETHEUS_TOKEN);
  t.deepEqual(user, PROMETHEUS);
  t.deepEqual(await auth.authorize(user!, { method: 'GET', path: '/metrics' }), {
    allowed: true,
    denied: false,
    reason: METRICS_GRANT,
  });
  t.deepEqual(events, ['token authenticated', 'access allowed']);
});

test('a valid token that RBAC does not allow is denied', async (t) => {
  const { auth, events } = await setup(t);
  const user = await auth.authenticate(PROMETHEUS_TOKEN);
  const decision = await auth.authorize(user!, { method: 'POST', path: '/api/task/revoke/1' });
  t.false(decision.allowed);
  t.is(decision.reason, 'no RBAC rule allows this request');
  t.deepEqual(events, ['token authenticated', 'access denied']);
});

test('an invalid token is null and nothing is asked about access', async (t) => {
  const { api, auth, events } = await setup(t);
  t.is(await auth.authenticate('eyJhbGciOiJSUzI1NiJ9.forged.signature'), null);
  t.is(await auth.authenticate(''), null);
  t.is(api.tokenReviews().length, 1, 'the empty token is never sent');
  t.is(api.accessReviews().length, 0);
  t.deepEqual(events, ['token unauthenticated']);
});

test('the SubjectAccessReview names the user, uid, groups, extra, verb and path', async (t) => {
  const { api, auth } = await setup(t);
  const user = await auth.authenticate(PROMETHEUS_TOKEN);
  await auth.authorize(user!, { method: 'HEAD', path: '/metrics?name[]=x' });
  t.deepEqual(api.accessReviews(), [
    {
      user: PROMETHEUS.username,
      uid: PROMETHEUS.uid,
      groups: PROMETHEUS.groups,
      extra: PROMETHEUS.extra,
      nonResourceAttributes: { path: '/metrics', verb: 'get' },
    },
  ]);
});

test('with resource attributes the review asks about the flower resource and its subresource', async (t) => {
  const { api, auth } = await setup(t, { resourceAttributes: { namespace: 'flower' } }, '/flower');
  const user = await auth.authenticate(CI_TOKEN);
  t.true((await auth.authorize(user!, { method: 'POST', path: '/flower/api/task/revoke/1' })).allowed);
  t.false((await auth.authorize(user!, { method: 'GET', path: '/flower/dashboard' })).allowed);
  t.deepEqual(
    api.accessReviews().map((spec) => spec.resourceAttributes),
    [
      {
        verb: 'create',
        group: 'flowergate.io',
        version: 'v1',
        resource: 'flower',
        subresource: 'api',
        namespace: 'flower',
      },
      {
        verb: 'get',
        group: 'flowergate.io',
        version: 'v1',
        resource: 'flower',
        subresource: 'dashboard',
        namespace: 'flower',
      },
    ],
  );
  t.deepEqual(api.accessReviews()[0]?.groups, CI_JOB.groups);
  t.is(api.accessReviews()[0]?.nonResourceAttributes, undefined);
});

test('audiences are sent and a token issued for another audience is refused', async (t) => {
  const { api, auth } = await setup(t, { audiences: ['flowergate'] });
  api.tokens[PROMETHEUS_TOKEN] = { user: PROMETHEUS, audiences: ['flowergate'] };
  t.deepEqual(await auth.authenticate(PROMETHEUS_TOKEN), PROMETHEUS);
  t.is(await auth.authenticate(CI_TOKEN), null, 'issued for the API server only');
  t.deepEqual(
    api.tokenReviews().map((spec) => spec.audiences),
    [['flowergate'], ['flowergate']],
  );
});

function authenticatorWithTimeout(t: Context, api: FakeApiServer, timeout: number) {
  const auth = createKubeAuthenticator({
    config: kubernetesConfig({ timeout }),
    kubeConfig: loadKubeConfigFromString(api.kubeconfig()),
  });
  t.teardown(() => auth.close());
  return auth;
}

test('an API server that is slow, failing or down is KUBE_UNAVAILABLE, never an allow', async (t) => {
  const api = await startApi(t, { tokens, allow: () => true });
  const hasty = authenticatorWithTimeout(t, api, 1);
  const patient = authenticatorWithTimeout(t, api, 10);
  const user = await patient.authenticate(PROMETHEUS_TOKEN);

  api.failAll({ kind: 'delay', ms: 60_000 });
  const started = performance.now();
  await t.throwsAsync(hasty.authenticate(CI_TOKEN), { code: 'KUBE_UNAVAILABLE', message: /within 1000 ms/ });
  await t.throwsAsync(hasty.authorize(user!, { method: 'GET', path: '/' }), { code: 'KUBE_UNAVAILABLE' });
  // Two calls against an API server 60 s late: bounded by the 1 s timeout, with room for a busy machine.
  t.true(performance.now() - started < 30_000, 'each call bounded by the 1 s timeout');

  api.failAll({ kind: 'status', code: 503 });
  await t.throwsAsync(patient.authenticate(CI_TOKEN), { code: 'KUBE_UNAVAILABLE', message: /answered 503/ });
  await t.throwsAsync(patient.authorize(user!, { method: 'GET', path: '/x' }), { code: 'KUBE_UNAVAILABLE' });

  await api.close();
  // The first call may meet the pooled socket the server just closed (UND_ERR_SOCKET).
  await t.throwsAsync(patient.authenticate(CI_TOKEN), {
    code: 'KUBE_UNAVAILABLE',
    message: /ECONNREFUSED|UND_ERR_SOCKET/,
  });
  await t.throwsAsync(patient.authorize(user!, { method: 'GET', path: '/y' }), { code: 'KUBE_UNAVAILABLE' });
});

test('failures are counted and never cached', async (t) => {
  const { api, auth, events } = await setup(t);
  api.failNext({ kind: 'status', code: 500 });
  await t.throwsAsync(auth.authenticate(PROMETHEUS_TOKEN), { code: 'KUBE_UNAVAILABLE' });
  const user = await auth.authenticate(PROMETHEUS_TOKEN);
  // Twice: a single broken connection is retried once.
  api.failNext({ kind: 'close' }, { kind: 'close' });
  await t.throwsAsync(auth.authorize(user!, { method: 'GET', path: '/metrics' }), {
    code: 'KUBE_UNAVAILABLE',
  });
  t.true((await auth.authorize(user!, { method: 'GET', path: '/metrics' })).allowed);
  t.is(api.tokenReviews().length, 2);
  t.is(api.accessReviews().length, 3, 'the broken one was tried twice');
  t.deepEqual(events, ['token error', 'token authenticated', 'access error', 'access allowed']);
});

test('token reviews are cached: one review, until the allow TTL passes', async (t) => {
  const { api, auth, clock, events } = await setup(t, { tokenReviewAllowTtl: 120 });
  for (let i = 0; i < 3; i++) t.deepEqual(await auth.authenticate(PROMETHEUS_TOKEN), PROMETHEUS);
  t.is(api.tokenReviews().length, 1);
  clock.advance(119);
  await auth.authenticate(PROMETHEUS_TOKEN);
  t.is(api.tokenReviews().length, 1);
  clock.advance(1);
  await auth.authenticate(PROMETHEUS_TOKEN);
  t.is(api.tokenReviews().length, 2);
  t.deepEqual(events, [
    'token authenticated',
    'token authenticated cached',
    'token authenticated cached',
    'token authenticated cached',
    'token authenticated',
  ]);
});

test('invalid tokens are remembered for the deny TTL only', async (t) => {
  const { api, auth, clock } = await setup(t, { tokenReviewAllowTtl: 120, tokenReviewDenyTtl: 30 });
  const forged = 'eyJhbGciOiJSUzI1NiJ9.forged.signature';
  await auth.authenticate(forged);
  await auth.authenticate(PROMETHEUS_TOKEN);
  clock.advance(29);
  await auth.authenticate(forged);
  t.is(api.tokenReviews().length, 2);
  clock.advance(1);
  // The token has since become valid: after the deny TTL it is asked about again.
  api.tokens[forged] = { user: CI_JOB };
  t.deepEqual(await auth.authenticate(forged), CI_JOB);
  await auth.authenticate(PROMETHEUS_TOKEN);
  t.is(api.tokenReviews().length, 3);
});

test('access reviews are cached with their own allow and deny TTLs', async (t) => {
  const { api, auth, clock } = await setup(t, { accessReviewAllowTtl: 300, accessReviewDenyTtl: 30 });
  const user = (await auth.authenticate(PROMETHEUS_TOKEN))!;
  const allowed = { method: 'GET', path: '/metrics' };
  const denied = { method: 'DELETE', path: '/metrics' };
  for (let i = 0; i < 3; i++) {
    t.true((await auth.authorize(user, allowed)).allowed);
    t.false((await auth.authorize(user, denied)).allowed);
  }
  t.is(api.accessReviews().length, 2);
  t.true(
    (await auth.authorize(user, { method: 'GET', path: '/metrics/' })).allowed === false,
    'another path is another review',
  );
  clock.advance(30);
  await auth.authorize(user, allowed);
  await auth.authorize(user, denied);
  t.is(api.accessReviews().length, 4, 'only the denial was asked again');
  clock.advance(270);
  await auth.authorize(user, allowed);
  t.is(api.accessReviews().length, 5);
});

test('the caches are bounded by cacheMaxEntries', async (t) => {
  const { api, auth } = await setup(t, { cacheMaxEntries: 2 });
  await auth.authenticate(PROMETHEUS_TOKEN);
  await auth.authenticate(CI_TOKEN);
  await auth.authenticate('third-token');
  await auth.authenticate(CI_TOKEN);
  t.is(api.tokenReviews().length, 3);
  await auth.authenticate(PROMETHEUS_TOKEN);
  t.is(api.tokenReviews().length, 4, 'the oldest entry was evicted');
});

test('concurrent identical reviews share one call', async (t) => {
  const { api, auth, events } = await setup(t);
  api.failNext({ kind: 'delay', ms: 100 });
  const users = await Promise.all(Array.from({ length: 20 }, () => auth.authenticate(PROMETHEUS_TOKEN)));
  t.true(users.every((u) => u?.username === PROMETHEUS.username));
  t.is(api.tokenReviews().length, 1);
  api.failNext({ kind: 'delay', ms: 100 });
  const decisions = await Promise.all(
    Array.from({ length: 20 }, () => auth.authorize(users[0]!, { method: 'GET', path: '/metrics' })),
  );
  t.true(decisions.every((d) => d.allowed));
  t.is(api.accessReviews().length, 1);
  t.is(events.filter((e) => !e.endsWith('cached')).length, 2);
});

test('a cached user cannot be changed by a caller', async (t) => {
  const { auth } = await setup(t);
  const user = (await auth.authenticate(PROMETHEUS_TOKEN))!;
  t.throws(() => {
    (user.groups as string[]).push('system:masters');
  });
  t.throws(() => {
    (user as { username: string }).username = 'admin';
  });
  t.deepEqual(await auth.authenticate(PROMETHEUS_TOKEN), PROMETHEUS);
});

test('works end to end through the in-cluster service-account files', async (t) => {
  const api = await startApi(t, { tokens, allow: rbac, callerToken: 'flowergate-pod-token' });
  const dir = makeTempDir();
  t.teardown(dir.remove);
  const layout = writeInClusterDir(dir.path, {
    server: api.url,
    caPem: api.caPem,
    token: 'flowergate-pod-token',
  });
  const auth = createKubeAuthenticator({
    config: kubernetesConfig(),
    kubeConfig: loadInClusterKubeConfig(layout),
  });
  t.teardown(() => auth.close());
  const user = await auth.authenticate(PROMETHEUS_TOKEN);
  t.true((await auth.authorize(user!, { method: 'GET', path: '/metrics' })).allowed);
  t.true(api.reviews.every((r) => r.callerAuthorized));
});
