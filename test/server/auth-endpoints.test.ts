import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import type { Pipeline, PipelineResult } from '../../src/decision/pipeline.ts';
import type { OriginalRequest } from '../../src/decision/request.ts';
import type { IdentityHeaders } from '../../src/server/answer.ts';
import { createAuthEndpoints } from '../../src/server/auth-endpoints.ts';

const names = { user: 'X-Auth-Request-User', email: 'X-Auth-Request-Email', groups: 'X-Auth-Request-Groups' };

/** The endpoints alone on a real server, with the pipeline and identity lookup a test gives. */
async function serve(t: ExecutionContext, pipeline: Pipeline, identityHeaders: IdentityHeaders = () => ({})) {
  const errors: unknown[] = [];
  const observed: Array<[OriginalRequest, PipelineResult]> = [];
  const endpoints = createAuthEndpoints({
    pipeline,
    answers: {
      loginUrl: null,
      logoutUrl: null,
      bearerChallenge: false,
      headerNames: names,
      identityHeaders,
      redirectCheck: () => null,
    },
    trustedProxies: null,
    observe: (request, result) => observed.push([request, result]),
    onError: (error) => errors.push(error),
  });
  const server = http.createServer((req, res) => {
    if (!endpoints(req, res)) res.writeHead(418).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const ask = () =>
    fetch(`${base}/_flowergate/auth/forward`, {
      headers: {
        'X-Forwarded-Host': 'flower.example.com',
        'X-Forwarded-Uri': '/',
        'X-Forwarded-Method': 'GET',
      },
    });
  return { base, ask, errors, observed };
}

const allowed: PipelineResult = {
  decision: 'allow',
  reason: 'ok',
  principal: null,
  match: null,
  cache: 'hit',
  path: '/',
};

// The endpoints' own failure path: a pipeline that throws (a bug, not a store outage, which the
// pipeline turns into a 503 itself) must never leave the proxy hanging or read as an allow.
test('a throwing decision is answered 500 and reported; paths that are not endpoints are left alone', async (t) => {
  const { base, ask, errors } = await serve(t, () => Promise.reject(new Error('bug in a rule')));
  const failed = await ask();
  t.is(failed.status, 500);
  t.deepEqual(await failed.json(), { decision: 'error', reason: 'internal_error' });
  t.is(errors.length, 1);
  t.is((errors[0] as Error).message, 'bug in a rule');

  for (const path of ['/_flowergate/auth/nginxx', '/_flowergate/whoami', '/flower/'])
    t.is((await fetch(`${base}${path}`)).status, 418, path);
});

test('a decision that throws before any promise (the synchronous path) is answered 500 too', async (t) => {
  const { ask, errors } = await serve(t, () => {
    throw new Error('bug on the fast path');
  });
  const failed = await ask();
  t.is(failed.status, 500);
  t.is((errors[0] as Error).message, 'bug on the fast path');
});

test('an allow answers with the identity headers, known at once or looked up', async (t) => {
  for (const identity of [
    () => ({ [names.user]: 'root', [names.groups]: 'ops' }),
    async () => ({ [names.user]: 'root', [names.groups]: 'ops' }),
  ]) {
    const { ask } = await serve(t, () => allowed, identity);
    const answer = await ask();
    t.is(answer.status, 200);
    t.is(answer.headers.get(names.user), 'root');
    t.is(answer.headers.get(names.groups), 'ops');
    t.is(answer.headers.get(names.email), '');
  }
});

test('an allow whose identity lookup fails is a 503, never an allow without identity', async (t) => {
  const { ask, errors } = await serve(
    t,
    () => allowed,
    () => Promise.reject(new Error('groups query timed out')),
  );
  const answer = await ask();
  t.is(answer.status, 503);
  t.is(answer.headers.get('retry-after'), '5');
  t.like(await answer.json(), { decision: 'error', reason: 'store_unavailable' });
  t.is((errors[0] as Error).message, 'groups query timed out');
});

test('a sub-request whose header families disagree is a 400 bad_request, observed like any decision, never judged', async (t) => {
  let judged = 0;
  const { base, observed } = await serve(t, () => {
    judged++;
    return allowed;
  });
  // A client behind a proxy that copies its headers forges the other family's copy.
  const forged = await fetch(`${base}/_flowergate/auth/nginx`, {
    headers: {
      'X-Original-URL': 'https://flower.example.com/flower/',
      'X-Original-Method': 'GET',
      'X-Forwarded-Uri': '/flower/api/task/revoke/1',
      'X-Forwarded-Method': 'POST',
    },
  });
  t.is(forged.status, 400);
  t.like(await forged.json(), { decision: 'forbidden', reason: 'bad_request' });
  // No method at all: no default GET.
  const noMethod = await fetch(`${base}/_flowergate/auth/forward`, {
    headers: { 'X-Forwarded-Host': 'flower.example.com', 'X-Forwarded-Uri': '/flower/' },
  });
  t.is(noMethod.status, 400);
  t.is(judged, 0);
  t.is(observed.length, 2);
  t.like(observed[0]![0], { dialect: 'nginx', method: 'GET', host: 'flower.example.com', uri: '/flower/' });
  t.like(observed[0]![1], { decision: 'forbidden', reason: 'bad_request' });
  t.like(observed[1]![0], { dialect: 'forward', method: '', uri: '/flower/' });

  // The honest twin: the same families agreeing are judged and allowed.
  const honest = await fetch(`${base}/_flowergate/auth/nginx`, {
    headers: {
      'X-Original-URL': 'https://flower.example.com/flower/api/task/revoke/1',
      'X-Original-Method': 'POST',
      'X-Forwarded-Uri': '/flower/api/task/revoke/1',
      'X-Forwarded-Method': 'POST',
    },
  });
  t.is(honest.status, 200);
  t.is(judged, 1);
});
