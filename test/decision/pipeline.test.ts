import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { createTtlCache } from '../../src/cache/ttl-cache.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createCsrfGuard } from '../../src/decision/csrf.ts';
import { createPipeline } from '../../src/decision/pipeline.ts';
import type { OriginalRequest } from '../../src/decision/request.ts';
import { createDemoDatabase } from '../../src/demo/demo-database.ts';
import { openDatabase } from '../../src/django/database/open-database.ts';
import { nowMicros } from '../../src/django/instant.ts';
import { createSessionResolver } from '../../src/django/resolve-session.ts';
import type { SessionVerdict } from '../../src/django/verdict.ts';
import { createHostCheck } from '../../src/policy/allowed-hosts.ts';
import { createPolicy } from '../../src/policy/policy.ts';

const dir = mkdtempSync(join(tmpdir(), 'fg-pipeline-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const secret = 'pipeline-test-secret-key-with-enough-length-0123456789';
const dbPath = join(dir, 'db.sqlite3');
const keys = createDemoDatabase(
  dbPath,
  secret,
  [
    { username: 'root', isSuperuser: true, isStaff: true },
    { username: 'viewer', isSuperuser: false, isStaff: true },
    { username: 'plain', isSuperuser: false, isStaff: false },
  ],
  1000,
);

const build = async (
  databaseUrl = `sqlite:///${dbPath}`,
  boundary: { urlPrefix?: string; allowedHosts?: string[] } = {},
) => {
  const config = loadConfig({
    file: 'examples/flower-policy.yaml',
    env: { FLOWERGATE_DJANGO_SECRET_KEY: secret, FLOWERGATE_DJANGO_DATABASE_URL: databaseUrl },
  });
  const database = await openDatabase(config);
  let loads = 0;
  const resolver = createSessionResolver(config.django, database);
  const counting = {
    ...resolver,
    resolve: (c: string | undefined, at: number) => {
      loads++;
      return resolver.resolve(c, at);
    },
  };
  const cache = createTtlCache<SessionVerdict>({
    maxEntries: 100,
    ttlMs: (v) => (v.kind === 'user' ? 5000 : 1000),
  });
  const pipeline = createPipeline({
    resolver: counting,
    policy: createPolicy(config.policy),
    verdictCache: cache,
    csrfGuard: createCsrfGuard([]),
    kube: null,
    now: nowMicros,
    urlPrefix: boundary.urlPrefix ?? '',
    hostCheck: createHostCheck(boundary.allowedHosts ?? []),
  });
  return { pipeline, database, loads: () => loads, cache };
};

const request = (
  user: string | null,
  method: string,
  uri: string,
  extra: Partial<OriginalRequest> = {},
): OriginalRequest =>
  ({
    dialect: 'forward',
    requestId: 'test',
    method,
    scheme: 'https',
    host: 'flower.example.com',
    uri,
    client: '192.0.2.1',
    cookie: user ? `csrftoken=x; sessionid=${keys.get(user)}` : undefined,
    authorization: undefined,
    accept: 'application/json',
    xRequestedWith: undefined,
    origin: method === 'GET' ? undefined : 'https://flower.example.com',
    referer: undefined,
    websocket: false,
    ...extra,
  }) as OriginalRequest;

test('the Flower example policy: staff may look, only superusers may act', async (t) => {
  const { pipeline, database } = await build();
  t.teardown(() => database.close());
  t.like(await pipeline(request('viewer', 'GET', '/workers')), { decision: 'allow', reason: 'ok' });
  t.like(await pipeline(request('viewer', 'POST', '/tasks/datatable')), { decision: 'allow' });
  t.like(await pipeline(request('viewer', 'POST', '/api/worker/shutdown/celery@w1')), {
    decision: 'forbidden',
    reason: 'not_superuser',
  });
  t.like(await pipeline(request('root', 'POST', '/api/worker/shutdown/celery@w1')), {
    decision: 'allow',
    reason: 'ok',
  });
  t.like(await pipeline(request('plain', 'GET', '/workers')), { decision: 'forbidden', reason: 'not_staff' });
  t.like(await pipeline(request(null, 'GET', '/workers')), {
    decision: 'unauthenticated',
    reason: 'no_cookie',
  });
  t.like(await pipeline(request(null, 'GET', '/healthcheck')), { decision: 'allow', reason: 'public' });
});

test('a path Tornado would route otherwise than it reads is refused before any rule or lookup, for everyone', async (t) => {
  const { pipeline, database, loads } = await build();
  t.teardown(() => database.close());
  for (const uri of [
    '/api/task/info/x/../../../../workers',
    '//api/worker/shutdown/w',
    '/./api/worker/shutdown/w',
    '/healthcheck/../api/worker/shutdown/w',
    '/%61pi/worker/shutdown/w',
    '/.%2e/workers',
    '/api%2Fworker/shutdown/w',
  ]) {
    for (const user of ['viewer', 'root', null]) {
      const result = pipeline(request(user, 'GET', uri));
      t.false(result instanceof Promise, uri);
      t.like(result, { decision: 'forbidden', reason: 'ambiguous_path', match: null }, uri);
    }
  }
  t.is(loads(), 0, 'no session was looked up');
  // The honest twin: the same user reaches what the path spells.
  t.like(await pipeline(request('viewer', 'GET', '/workers')), { decision: 'allow' });
  t.like(await pipeline(request('viewer', 'POST', '/api/worker/shutdown/w')), { reason: 'not_superuser' });
});

test("under a URL prefix, rules see Flower's own paths and a path outside the prefix is refused", async (t) => {
  const { pipeline, database } = await build(undefined, { urlPrefix: '/flower' });
  t.teardown(() => database.close());
  t.like(await pipeline(request(null, 'GET', '/flower/healthcheck')), {
    decision: 'allow',
    reason: 'public',
  });
  t.like(await pipeline(request('viewer', 'GET', '/flower/workers')), {
    decision: 'allow',
    path: '/workers',
  });
  t.like(await pipeline(request('viewer', 'POST', '/flower/tasks/datatable')), { decision: 'allow' });
  t.like(await pipeline(request('viewer', 'POST', '/flower/api/task/revoke/1')), { reason: 'not_superuser' });
  t.like(await pipeline(request('root', 'POST', '/flower/api/task/revoke/1')), { decision: 'allow' });
  for (const uri of ['/healthcheck', '/api/task/revoke/1', '/flowerx/workers', '/']) {
    t.like(
      await pipeline(request('root', 'GET', uri)),
      { decision: 'forbidden', reason: 'outside_prefix', match: null },
      uri,
    );
  }
});

test('a host outside the allowed hosts is refused before any session lookup; a listed one is judged', async (t) => {
  const { pipeline, database, loads } = await build(undefined, { allowedHosts: ['.example.com'] });
  t.teardown(() => database.close());
  for (const host of ['evil.example', 'flower.example.com.evil.example', 'bad host']) {
    const result = pipeline(request('root', 'GET', '/workers', { host }));
    t.false(result instanceof Promise);
    t.like(result, { decision: 'forbidden', reason: 'disallowed_host' }, host);
  }
  t.is(loads(), 0);
  t.like(await pipeline(request('root', 'GET', '/workers', { host: 'FLOWER.example.com:8443' })), {
    decision: 'allow',
  });
});

test('a cross-site POST with a superuser session is refused by the CSRF guard', async (t) => {
  const { pipeline, database } = await build();
  t.teardown(() => database.close());
  t.like(await pipeline(request('root', 'POST', '/api/task/revoke/1', { origin: 'https://evil.example' })), {
    decision: 'forbidden',
    reason: 'csrf_origin_mismatch',
  });
  t.like(await pipeline(request('root', 'POST', '/api/task/revoke/1', { origin: undefined })), {
    reason: 'csrf_origin_mismatch',
  });
  t.like(
    await pipeline(
      request('root', 'POST', '/api/task/revoke/1', {
        origin: 'null',
        referer: 'https://flower.example.com/tasks',
      }),
    ),
    { reason: 'csrf_origin_mismatch' },
  );
});

test('a cross-site WebSocket handshake with a session is refused; a same-origin one passes', async (t) => {
  const { pipeline, database } = await build();
  t.teardown(() => database.close());
  t.like(
    await pipeline(request('root', 'GET', '/workers', { websocket: true, origin: 'https://evil.example' })),
    {
      decision: 'forbidden',
      reason: 'csrf_origin_mismatch',
    },
  );
  t.like(
    await pipeline(
      request('root', 'GET', '/workers', { websocket: true, origin: 'https://flower.example.com' }),
    ),
    { decision: 'allow' },
  );
});

test('the session verdict is cached: a burst of requests costs one lookup', async (t) => {
  const { pipeline, database, loads } = await build();
  t.teardown(() => database.close());
  const results = await Promise.all(
    Array.from({ length: 50 }, () => pipeline(request('root', 'GET', '/workers'))),
  );
  t.true(results.every((r) => r.decision === 'allow'));
  t.is(loads(), 1);
  t.is((await pipeline(request('root', 'GET', '/tasks'))).cache, 'hit');
});

test('a cached verdict, allow or deny, is decided without a promise; the first lookup is a promise', async (t) => {
  const { pipeline, database } = await build();
  t.teardown(() => database.close());
  const first = pipeline(request('root', 'GET', '/workers'));
  t.true(first instanceof Promise, 'the first request asks the store');
  t.like(await first, { decision: 'allow', cache: 'miss' });
  const hit = pipeline(request('root', 'GET', '/tasks'));
  t.false(hit instanceof Promise, 'a cache hit answers synchronously');
  t.like(hit, { decision: 'allow', reason: 'ok', cache: 'hit' });

  await pipeline(request('viewer', 'POST', '/api/task/revoke/1'));
  const refused = pipeline(request('viewer', 'POST', '/api/task/revoke/1'));
  t.false(refused instanceof Promise);
  t.like(refused, { decision: 'forbidden', reason: 'not_superuser', cache: 'hit' });
});

test('no cookie, or one no session can have, is refused at once: no lookup, no promise, no cache entry', async (t) => {
  const { pipeline, database, loads, cache } = await build();
  t.teardown(() => database.close());
  const cases: Array<[string | undefined, string]> = [
    [undefined, 'no_cookie'],
    ['csrftoken=x; sessionid=short', 'invalid_session_key'],
    [`sessionid=${'x'.repeat(41)}`, 'no_session'],
  ];
  for (const [cookie, reason] of cases) {
    const result = pipeline(request(null, 'GET', '/workers', { cookie }));
    t.false(result instanceof Promise, reason);
    t.like(result, { decision: 'unauthenticated', reason });
  }
  t.is(loads(), 0);
  t.is(cache.size, 0);
});

test('a session store that fails is an error (503), never an allow', async (t) => {
  const { pipeline, database } = await build(`sqlite:///${join(dir, 'missing', 'db.sqlite3')}`);
  t.teardown(() => database.close());
  const result = await pipeline(request('root', 'GET', '/workers'));
  t.like(result, { decision: 'error', reason: 'store_unavailable' });
  t.is(result.error?.constructor.name, 'FlowergateError');
});
