import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import type { Pipeline } from '../../src/decision/pipeline.ts';
import { createAuthEndpoints } from '../../src/server/auth-endpoints.ts';

// The endpoints' own failure path: a pipeline that throws (a bug, not a store outage, which the
// pipeline turns into a 503 itself) must never leave the proxy hanging or read as an allow.
test('a throwing decision is answered 500 and reported; paths that are not endpoints are left alone', async (t) => {
  const errors: unknown[] = [];
  const pipeline: Pipeline = () => Promise.reject(new Error('bug in a rule'));
  const endpoints = createAuthEndpoints({
    pipeline,
    answers: {
      loginUrl: null,
      headerNames: {
        user: 'X-Auth-Request-User',
        email: 'X-Auth-Request-Email',
        groups: 'X-Auth-Request-Groups',
      },
      identityHeaders: async () => ({}),
      redirectCheck: () => null,
    },
    trustedProxies: null,
    observe: () => {},
    onError: (error) => errors.push(error),
  });
  const server = http.createServer((req, res) => {
    if (!endpoints(req, res)) res.writeHead(418).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const failed = await fetch(`${base}/_flowergate/auth/forward`, {
    headers: {
      'X-Forwarded-Host': 'flower.example.com',
      'X-Forwarded-Uri': '/',
      'X-Forwarded-Method': 'GET',
    },
  });
  t.is(failed.status, 500);
  t.deepEqual(await failed.json(), { decision: 'error', reason: 'internal_error' });
  t.is(errors.length, 1);
  t.is((errors[0] as Error).message, 'bug in a rule');

  for (const path of ['/_flowergate/auth/nginxx', '/_flowergate/whoami', '/flower/'])
    t.is((await fetch(`${base}${path}`)).status, 418, path);
});
