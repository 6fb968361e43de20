import test from 'ava';
import { createKubeClient } from '../../src/kube/kube-client.ts';
import { createTokenReviewer, userFromStatus } from '../../src/kube/token-review.ts';
import { PROMETHEUS, PROMETHEUS_TOKEN, startApi, warmUpClient } from '../support/kube/harness.ts';
import { loadKubeConfigFromString } from '../support/kube/kubeconfig.ts';

test.before(warmUpClient);

const user = { username: 'system:serviceaccount:a:b', uid: 'u', groups: ['g'], extra: { k: ['v'] } };

test('an authenticated status gives the user', (t) => {
  t.deepEqual(userFromStatus({ authenticated: true, user }, []), user);
  t.deepEqual(userFromStatus({ authenticated: true, user: { username: 'bob' } }, []), {
    username: 'bob',
    uid: '',
    groups: [],
    extra: {},
  });
});

test('anything short of an authenticated user with a name is no user', (t) => {
  t.is(userFromStatus({ authenticated: false, user }, []), null);
  t.is(userFromStatus({ user, error: 'invalid bearer token' }, []), null);
  t.is(userFromStatus({ authenticated: true }, []), null);
  t.is(userFromStatus({ authenticated: true, user: { username: '' } }, []), null);
  t.is(userFromStatus({ authenticated: 'true' as unknown as boolean, user }, []), null);
});

test('with audiences configured, status.audiences must overlap them', (t) => {
  t.truthy(userFromStatus({ authenticated: true, user, audiences: ['flowergate', 'other'] }, ['flowergate']));
  t.is(
    userFromStatus({ authenticated: true, user, audiences: ['https://kubernetes.default.svc'] }, [
      'flowergate',
    ]),
    null,
  );
  t.is(userFromStatus({ authenticated: true, user }, ['flowergate']), null, 'absent audiences do not match');
  t.truthy(
    userFromStatus({ authenticated: true, user, audiences: ['anything'] }, []),
    'no audiences configured',
  );
});

test('a "__proto__" key in extra is dropped', (t) => {
  const extra = JSON.parse('{"__proto__": ["x"], "ok": ["y"]}');
  const parsed = userFromStatus({ authenticated: true, user: { username: 'a', extra } }, []);
  t.deepEqual(parsed?.extra, { ok: ['y'] });
  t.is(Object.getPrototypeOf(parsed?.extra), Object.prototype);
});

async function reviewer(t: Parameters<typeof startApi>[0], audiences: string[], token = {}) {
  const api = await startApi(t, { tokens: { [PROMETHEUS_TOKEN]: { user: PROMETHEUS, ...token } } });
  const client = createKubeClient({
    kubeConfig: loadKubeConfigFromString(api.kubeconfig()),
    // not what these tests are about: room for a fresh TLS connection on a busy machine
    timeoutMs: 10_000,
  });
  t.teardown(() => client.close());
  return { api, review: createTokenReviewer({ client, audiences }) };
}

test('sends the configured audiences and accepts a token issued for them', async (t) => {
  const { api, review } = await reviewer(t, ['flowergate'], { audiences: ['flowergate'] });
  t.deepEqual(await review(PROMETHEUS_TOKEN), PROMETHEUS);
  t.deepEqual(api.tokenReviews(), [{ token: PROMETHEUS_TOKEN, audiences: ['flowergate'] }]);
});

test('a token for another audience is refused by the API server', async (t) => {
  const { api, review } = await reviewer(t, ['flowergate']);
  t.is(await review(PROMETHEUS_TOKEN), null);
  t.is(api.tokenReviews().length, 1);
});

test('an authenticator that reports other audiences than asked is not believed', async (t) => {
  const { review } = await reviewer(t, ['flowergate'], {
    audiences: ['flowergate'],
    reportAudiences: ['other'],
  });
  t.is(await review(PROMETHEUS_TOKEN), null);
});

test('without configured audiences none are sent and the API server applies its own', async (t) => {
  const { api, review } = await reviewer(t, []);
  t.deepEqual(await review(PROMETHEUS_TOKEN), PROMETHEUS);
  t.deepEqual(api.tokenReviews(), [{ token: PROMETHEUS_TOKEN }]);
});

test('an unknown token is null, not an error', async (t) => {
  const { review } = await reviewer(t, []);
  t.is(await review('not-a-token'), null);
});
