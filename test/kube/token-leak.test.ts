// A bearer token must never reach a log line, an error message, a stack or an error's cause. The
// fake API server is made to misbehave in every way we know, some of which put the token into what
// the client library throws; a pino logger records what the application would log about each call.

import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { AuthenticationV1Api } from '@kubernetes/client-node';
import test from 'ava';
import { pino } from 'pino';
import { createKubeAuthenticator } from '../../src/kube/kube-auth.ts';
import type { Failure } from '../support/kube/fake-apiserver.ts';
import { kubernetesConfig, PROMETHEUS, startApi, warmUpClient } from '../support/kube/harness.ts';
import { loadKubeConfigFromString } from '../support/kube/kubeconfig.ts';

const CANARY = 'leak-canary.Zq8vX3rT7nKp2Wm5.Hs9dLc4Fy6Bj1Qe0';

/** Every 8-character window of the token: V8's JSON.parse messages quote about ten characters of it. */
function leaks(text: string): string[] {
  const found: string[] = [];
  for (let i = 0; i + 8 <= CANARY.length; i++) {
    const window = CANARY.slice(i, i + 8);
    if (text.includes(window)) found.push(window);
  }
  return found;
}

function captureLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: 'trace' }, stream), text: () => lines.join('') };
}

/** Everything anyone could print about an error. */
function renderings(error: unknown): string {
  const e = error as Error;
  return [
    String(e),
    e.message,
    e.stack ?? '',
    inspect(e, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
    JSON.stringify(e, Object.getOwnPropertyNames(e)),
    inspect((e as { cause?: unknown }).cause, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
  ].join('\n');
}

test.before(warmUpClient);

const failures: Array<[string, Failure | null]> = [
  ['no failure', null],
  ['500', { kind: 'status', code: 500 }],
  ['400 quoting the request', { kind: 'echo' }],
  ['JSON broken at the token', { kind: 'corrupt' }],
  ['truncated body', { kind: 'truncated' }],
  ['HTML page', { kind: 'html' }],
  ['socket closed', { kind: 'close' }],
  ['too slow', { kind: 'delay', ms: 60_000 }],
];

test('the fake server really does put the token into what client-node throws (the control)', async (t) => {
  const api = await startApi(t, { tokens: { [CANARY]: { user: PROMETHEUS } } });
  const raw = loadKubeConfigFromString(api.kubeconfig()).makeApiClient(AuthenticationV1Api);
  const body = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: CANARY } };
  api.failNext({ kind: 'echo' });
  const apiException = await t.throwsAsync(raw.createTokenReview({ body }));
  t.true(apiException?.message.includes(CANARY), 'ApiException.message embeds the response body');
  api.failNext({ kind: 'corrupt' });
  const syntaxError = await t.throwsAsync(raw.createTokenReview({ body }));
  t.true(
    leaks(syntaxError?.message ?? '').length > 0,
    `JSON.parse quotes the token: ${syntaxError?.message}`,
  );
  const review = await raw.createTokenReview({ body });
  t.is(review.spec.token, CANARY, 'a successful TokenReview echoes spec.token');
});

for (const [name, failure] of failures) {
  test(`no token in logs or errors: ${name}`, async (t) => {
    const api = await startApi(t, { tokens: { [CANARY]: { user: PROMETHEUS } }, allow: () => true });
    const { logger, text } = captureLogger();
    const auth = createKubeAuthenticator({
      // 5 s: long enough for the token to reach the API server on a busy machine, far short of its 60 s delay
      config: kubernetesConfig({ timeout: failure?.kind === 'delay' ? 5 : 10, audiences: ['flowergate'] }),
      kubeConfig: loadKubeConfigFromString(api.kubeconfig()),
    });
    t.teardown(() => auth.close());
    api.tokens[CANARY] = { user: PROMETHEUS, audiences: ['flowergate'] };
    if (failure) api.failAll(failure);
    const seen: string[] = [];
    try {
      const user = await auth.authenticate(CANARY);
      logger.info({ user }, 'kube token authenticated');
      const decision = await auth.authorize(user!, { method: 'GET', path: '/metrics' });
      logger.info({ user, decision }, 'kube access decided');
      t.is(failure, null, 'only the undisturbed run succeeds');
    } catch (error) {
      t.not(failure, null);
      t.is((error as { code?: string }).code, 'KUBE_UNAVAILABLE');
      logger.error({ err: error }, 'kube review failed');
      logger.error(error as Error);
      seen.push(renderings(error));
    }
    t.is(api.tokenReviews()[0]?.token, CANARY, 'the token did reach the API server');
    t.deepEqual(leaks(text()), [], text());
    t.deepEqual(leaks(seen.join('\n')), [], seen.join('\n'));
  });
}

test('no token in errors when the API server is down or refuses our own credentials', async (t) => {
  const api = await startApi(t, { tokens: { [CANARY]: { user: PROMETHEUS } } });
  const make = (yaml: string) => {
    const auth = createKubeAuthenticator({
      config: kubernetesConfig(),
      kubeConfig: loadKubeConfigFromString(yaml),
    });
    t.teardown(() => auth.close());
    return auth;
  };
  const wrongCaller = make(api.kubeconfig({ token: 'stale' }));
  api.callerForbidden = false;
  const e401 = await t.throwsAsync(wrongCaller.authenticate(CANARY), { code: 'KUBE_UNAVAILABLE' });
  api.callerForbidden = true;
  const e403 = await t.throwsAsync(make(api.kubeconfig()).authenticate(CANARY), { code: 'KUBE_UNAVAILABLE' });
  const down = make(api.kubeconfig());
  await api.close();
  const eDown = await t.throwsAsync(down.authenticate(CANARY), { code: 'KUBE_UNAVAILABLE' });
  const text = [e401, e403, eDown].map(renderings).join('\n');
  t.deepEqual(leaks(text), []);
});
