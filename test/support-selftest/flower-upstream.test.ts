import { createHash } from 'node:crypto';
import { FAKE_WORKER, startFlowerUpstream, streamSha256 } from '../support/flower-upstream.ts';
import { toolTest } from '../support/require-tool.ts';

const maybe = await toolTest('tornado');

maybe(
  'Flower routes live under the prefix; the bare prefix is a 404 like Flower, not a redirect',
  async (t) => {
    const flower = await startFlowerUpstream({ prefix: '/flower/', t });
    t.is(flower.prefix, '/flower');
    t.is(flower.base, `${flower.url}/flower`);

    const dash = await fetch(`${flower.base}/`);
    t.is(dash.status, 200);
    t.is(dash.headers.get('access-control-allow-origin'), '*');
    const html = await dash.text();
    t.regex(html, /<input type="hidden" id="url_prefix" value="flower">/);
    t.regex(html, /src="\/flower\/static\/js\/flower\.js\?v=[0-9a-f]+"/);

    for (const path of ['/workers', '/tasks', '/broker', `/worker/${FAKE_WORKER}`]) {
      t.is((await fetch(`${flower.base}${path}`)).status, 200, path);
    }
    const workersJson = (await (await fetch(`${flower.base}/workers?json=1`)).json()) as {
      data: Array<{ hostname: string }>;
    };
    t.is(workersJson.data[0]?.hostname, FAKE_WORKER);
    t.deepEqual(await (await fetch(`${flower.base}/api/workers?status=1`)).json(), { [FAKE_WORKER]: true });
    t.truthy(await (await fetch(`${flower.base}/api/tasks`)).json());

    const health = await fetch(`${flower.base}/healthcheck`);
    t.is(await health.text(), 'OK');
    t.is(health.headers.get('content-type'), 'text/html; charset=UTF-8');
    const metrics = await fetch(`${flower.base}/metrics`);
    t.is(metrics.headers.get('content-type'), 'text/plain');
    t.regex(await metrics.text(), /flower_worker_online\{worker="w1@host"\} 1\.0/);

    const js = await fetch(`${flower.base}/static/js/flower.js`);
    t.is(js.status, 200);
    t.is(js.headers.get('access-control-allow-origin'), null, 'no CORS header on static files');
    t.is((await fetch(`${flower.base}/static/favicon.ico`, { method: 'HEAD' })).status, 200);

    const revoke = await fetch(`${flower.base}/api/task/revoke/abc`, { method: 'POST' });
    t.deepEqual(await revoke.json(), { message: "Revoked 'abc'" });
    const unknown = await fetch(`${flower.base}/api/worker/shutdown/nobody@x`, { method: 'POST' });
    t.is(unknown.status, 404);
    t.is(await unknown.text(), "Unknown worker 'nobody@x'");
    const shutdown = await fetch(`${flower.base}/api/worker/shutdown/${FAKE_WORKER}`, { method: 'POST' });
    t.deepEqual(await shutdown.json(), { message: 'Shutting down!' });

    t.is((await fetch(`${flower.base}/`, { method: 'HEAD' })).status, 405);
    t.is((await fetch(`${flower.base}/api/task/revoke/abc`, { method: 'GET' })).status, 405);
    const options = await fetch(`${flower.base}/api/task/revoke/abc`, { method: 'OPTIONS' });
    t.is(options.status, 204);
    t.is(options.headers.get('access-control-allow-origin'), '*');

    const bare = await fetch(`${flower.url}/flower`, { redirect: 'manual' });
    t.is(bare.status, 404);
    t.is(bare.headers.get('location'), null);
    t.regex(await bare.text(), /404 - Page not found/);
    const outside = await fetch(`${flower.url}/healthcheck`);
    t.is(outside.status, 404);
    t.is((await outside.text()).length, 69, "Tornado's bare 404 page outside the prefix");
  },
);

maybe('without a prefix the routes are at the root; the API can be gated off like Flower', async (t) => {
  const flower = await startFlowerUpstream({ unauthenticatedApi: false, t });
  t.is(flower.prefix, '');
  t.is(await (await fetch(`${flower.url}/healthcheck`)).text(), 'OK');
  const api = await fetch(`${flower.url}/api/workers`);
  t.is(api.status, 401);
  t.regex(await api.text(), /FLOWER_UNAUTHENTICATED_API/);
});

maybe('it records every request, including 404s, and clear() empties the record', async (t) => {
  const flower = await startFlowerUpstream({ prefix: 'flower', t });
  await fetch(`${flower.base}/api/tasks?limit=1`, { headers: { cookie: 'sessionid=abc', 'x-test': 'one' } });
  await fetch(`${flower.url}/elsewhere`, { method: 'POST', body: 'x' });
  const seen = await flower.requests();
  t.is(seen.length, 2);
  const [first, second] = seen;
  t.like(first, {
    method: 'GET',
    path: '/flower/api/tasks',
    query: 'limit=1',
    uri: '/flower/api/tasks?limit=1',
  });
  t.is(first?.headers.cookie, 'sessionid=abc');
  t.is(first?.headers['x-test'], 'one');
  t.deepEqual(
    first?.rawHeaders.find(([name]) => name === 'X-Test'),
    ['X-Test', 'one'],
  );
  t.like(second, { method: 'POST', path: '/elsewhere' });
  await flower.clear();
  t.deepEqual(await flower.requests(), []);
});

maybe('it streams a large body slowly, in chunks', async (t) => {
  const flower = await startFlowerUpstream({ prefix: 'flower', t });
  const size = 4 * 1024 * 1024;
  const started = Date.now();
  const res = await fetch(`${flower.base}/stream?size=${size}&chunk=${256 * 1024}&delay_ms=200`);
  const headersAt = Date.now();
  t.is(res.headers.get('transfer-encoding'), 'chunked');
  t.is(res.headers.get('x-body-sha256'), streamSha256(size));
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  const lastChunkAt = Date.now();
  t.is(bytes, size);
  t.is(hash.digest('hex'), res.headers.get('x-body-sha256') ?? '');
  // Measured from the request, not from our first read: the upstream's sleeps bound the total, while
  // a busy test process may read late and find several chunks already buffered. The gaps (3 s in all, after
  // the headers) are long so that reading late cannot make the headers look as late as the last bytes.
  const streaming = lastChunkAt - started;
  t.true(streaming >= 15 * 200 * 0.9, `16 chunks with 200 ms gaps streamed in ${streaming} ms`);
  t.true(lastChunkAt - headersAt >= 1500, 'the headers arrive long before the last bytes');

  const fixed = await fetch(`${flower.base}/stream?size=1000&length=1`);
  t.is(fixed.headers.get('content-length'), '1000');
  t.is((await fixed.arrayBuffer()).byteLength, 1000);
});

maybe('it consumes a large upload as a stream and answers its size and sha256', async (t) => {
  const flower = await startFlowerUpstream({ prefix: 'flower', t });
  const chunk = Buffer.alloc(1024 * 1024, 7);
  const chunks = 24;
  const expected = createHash('sha256');
  for (let i = 0; i < chunks; i++) expected.update(chunk);
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ < chunks) controller.enqueue(chunk);
      else controller.close();
    },
  });
  const res = await fetch(`${flower.base}/upload`, { method: 'POST', body, duplex: 'half' } as RequestInit);
  const reply = (await res.json()) as {
    bytes: number;
    sha256: string;
    transferEncoding: string;
    chunks: number;
  };
  t.is(reply.bytes, chunks * chunk.length);
  t.is(reply.sha256, expected.digest('hex'));
  t.is(reply.transferEncoding, 'chunked');
  t.true(reply.chunks > 1);
});

maybe('it echoes WebSocket messages, text and binary', async (t) => {
  const flower = await startFlowerUpstream({ prefix: 'flower', t });
  const ws = new WebSocket(`ws://127.0.0.1:${flower.port}/flower/ws/echo`);
  ws.binaryType = 'arraybuffer';
  t.teardown(() => ws.close());
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  const next = () =>
    new Promise<unknown>((resolve) => ws.addEventListener('message', (e) => resolve(e.data), { once: true }));
  let reply = next();
  ws.send('hello flower');
  t.is(await reply, 'hello flower');
  reply = next();
  ws.send(new Uint8Array([1, 2, 3]));
  t.deepEqual(new Uint8Array((await reply) as ArrayBuffer), new Uint8Array([1, 2, 3]));
  const upgrade = (await flower.requests()).find((r) => r.path === '/flower/ws/echo');
  t.is(upgrade?.headers.upgrade?.toLowerCase(), 'websocket');
});

maybe('failure routes: slow headers, abrupt reset, any status', async (t) => {
  const flower = await startFlowerUpstream({ prefix: 'flower', t });
  const started = Date.now();
  const slow = await fetch(`${flower.base}/__slow_headers?delay_ms=300`);
  t.true(Date.now() - started >= 290);
  t.is(await slow.text(), 'slow\n');
  await t.throwsAsync(
    fetch(`${flower.base}/__slow_headers?delay_ms=5000`, { signal: AbortSignal.timeout(200) }),
    {
      name: 'TimeoutError',
    },
  );

  const err = await t.throwsAsync(fetch(`${flower.base}/__reset`));
  t.regex(
    String((err?.cause as NodeJS.ErrnoException | undefined)?.code ?? err?.cause),
    /ECONNRESET|UND_ERR_SOCKET/,
  );

  const status = await fetch(`${flower.base}/__status/503`);
  t.is(status.status, 503);
  const echo = await (await fetch(`${flower.base}/__echo`, { method: 'POST', body: 'abc' })).json();
  t.like(echo, { method: 'POST', path: '/flower/__echo', bodyBytes: 3 });
});

maybe('stop() ends the process and frees the port', async (t) => {
  const flower = await startFlowerUpstream();
  await flower.stop();
  await flower.stop();
  await t.throwsAsync(fetch(`${flower.url}/healthcheck`));
});
