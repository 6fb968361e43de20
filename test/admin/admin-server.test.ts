import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { Registry } from 'prom-client';
import { createAdminApp, METRICS_CONTENT_TYPE } from '../../src/admin/admin-server.ts';
import { createReadiness } from '../../src/admin/readiness.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';

async function serve(t: ExecutionContext) {
  const registry = new Registry();
  const metrics = createMetrics({ registry, version: '9.9.9' });
  let storeUp = true;
  const readiness = createReadiness({
    ping: async () => {
      if (!storeUp) throw new Error('connect ECONNREFUSED 10.0.0.5:5432');
    },
    intervalMs: 5000,
    timeoutMs: 100,
  });
  const server = createAdminApp({ registry, readiness }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    metrics,
    readiness,
    setStore: (up: boolean) => {
      storeUp = up;
    },
    get: (path: string, init?: RequestInit) => fetch(`${base}${path}`, init),
  };
}

test('GET /healthz says the process is alive', async (t) => {
  const { get } = await serve(t);
  const response = await get('/healthz');
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type') ?? '', /^application\/json/);
  t.deepEqual(await response.json(), { status: 'ok' });
  t.is((await get('/healthz', { method: 'HEAD' })).status, 200);
});

test('GET /metrics serves the text format 0.0.4 with flowergate metrics', async (t) => {
  const { get, metrics } = await serve(t);
  metrics.decision('forward', 'unauthenticated', 'no_cookie', 0.0001, 'miss');
  const response = await get('/metrics');
  t.is(response.status, 200);
  t.is(response.headers.get('content-type'), METRICS_CONTENT_TYPE);
  t.is(METRICS_CONTENT_TYPE, Registry.PROMETHEUS_CONTENT_TYPE);
  const body = await response.text();
  t.regex(body, /^flowergate_build_info\{version="9\.9\.9",node_version="v\d+\.\d+\.\d+"\} 1$/m);
  t.regex(
    body,
    /^flowergate_auth_decisions_total\{dialect="forward",decision="unauthenticated",reason="no_cookie"\} 1$/m,
  );
  t.regex(body, /^# TYPE flowergate_process_cpu_seconds_total counter$/m);
});

test('GET /readyz goes 503 → 200 → 503 (store down) → 200 → 503 (shutting down), saying why', async (t) => {
  const { get, readiness, setStore } = await serve(t);
  const readyz = async () => {
    const response = await get('/readyz');
    return {
      status: response.status,
      body: (await response.json()) as { status: string; problems: string[] },
    };
  };

  t.like(await readyz(), {
    status: 503,
    body: { status: 'not_ready', problems: ['session store: no answer yet'] },
  });

  await readiness.check();
  t.like(await readyz(), { status: 200, body: { status: 'ready', problems: [] } });

  setStore(false);
  await readiness.check();
  t.like(await readyz(), {
    status: 503,
    body: { status: 'not_ready', problems: ['session store: connect ECONNREFUSED 10.0.0.5:5432'] },
  });

  setStore(true);
  await readiness.check();
  t.is((await readyz()).status, 200);

  readiness.markShuttingDown();
  t.like(await readyz(), { status: 503, body: { problems: ['shutting down'] } });
  t.is((await get('/healthz')).status, 200, 'still alive while draining');
});

test('unknown paths are 404 and other methods 405', async (t) => {
  const { get } = await serve(t);
  const missing = await get('/_flowergate/auth/nginx');
  t.is(missing.status, 404);
  t.deepEqual(await missing.json(), { error: 'not found', paths: ['/metrics', '/healthz', '/readyz'] });
  const post = await get('/metrics', { method: 'POST' });
  t.is(post.status, 405);
  t.is(post.headers.get('allow'), 'GET, HEAD');
});
