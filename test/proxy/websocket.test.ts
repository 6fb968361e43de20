// WebSockets through the sidecar proxy: handshakes are decided like any request, allowed ones tunnel to the
// upstream's echo, refused ones get a plain HTTP status on the socket; tunnels are bounded by the idle timeout
// and closed by drain at its deadline.
import { randomBytes } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import test from 'ava';
import { djangoTool, startDjangoSite } from '../support/e2e.ts';
import { startFlowerUpstream } from '../support/flower-upstream.ts';
import type { Teardown } from '../support/processes.ts';
import { toolTest } from '../support/require-tool.ts';
import { NOTHING_LISTENS, PREFIX, sample, startGate } from './harness.ts';

const maybe = await toolTest('tornado', djangoTool());

const cleanup: Array<() => Promise<void>> = [];
const shared: Teardown = { teardown: (fn) => void cleanup.push(fn) };
test.after.always(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

let world: ReturnType<typeof setUp> | undefined;
function setUp() {
  return (async () => {
    const [site, flower] = await Promise.all([
      startDjangoSite({ t: shared }),
      startFlowerUpstream({ prefix: 'flower', t: shared }),
    ]);
    const [root, plain] = await Promise.all([site.cookie('root'), site.cookie('plain')]);
    return { site, flower, root, plain };
  })();
}
const env = () => {
  world ??= setUp();
  return world;
};

const wsUrl = (gate: { port: number }) => `ws://127.0.0.1:${gate.port}${PREFIX}/ws/echo`;

/** Opens a WebSocket (Node's own client) and resolves once it is open. */
function open(url: string, headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers } as unknown as string[]);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error(`WebSocket to ${url} failed`));
  });
}

function next(ws: WebSocket): Promise<string | ArrayBuffer> {
  return new Promise((resolve) => {
    ws.onmessage = (event) => resolve(event.data as string | ArrayBuffer);
  });
}

const closed = (ws: WebSocket) =>
  new Promise<number>((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) resolve(-1);
    ws.onclose = (event) => resolve(event.code);
  });

/** A raw handshake, to see the HTTP answer a refused upgrade gets. */
function handshake(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url.replace(/^ws/, 'http'), {
      agent: false,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

maybe(
  'an allowed WebSocket echoes text and binary through the proxy, without the session cookie upstream',
  async (t) => {
    const { site, flower, root } = await env();
    const gate = await startGate({ site, upstream: flower, t });
    const tag = randomBytes(8).toString('hex');
    const ws = await open(`${wsUrl(gate)}?tag=${tag}`, { cookie: `${root}; theme=dark`, origin: gate.url });
    ws.send('hello through flowergate');
    t.is(await next(ws), 'hello through flowergate');
    const bytes = randomBytes(70_000);
    ws.send(bytes);
    t.deepEqual(Buffer.from((await next(ws)) as ArrayBuffer), bytes);
    const wasClosed = closed(ws);
    ws.close(1000);
    t.is(await wasClosed, 1000);

    const seen = (await flower.requests()).find((r) => r.query === `tag=${tag}`);
    t.is(seen?.headers.cookie, 'theme=dark');
    t.is(seen?.headers['x-auth-request-user'], 'root');
    t.is(seen?.headers.upgrade?.toLowerCase(), 'websocket');
    t.is(
      sample(
        await gate.metrics(),
        'flowergate_proxy_request_duration_seconds_count{method="GET",code="101"}',
      ),
      1,
    );
  },
);

maybe(
  'a refused WebSocket handshake gets a plain HTTP 401/403 on the socket and never reaches the upstream',
  async (t) => {
    const { site, flower, plain } = await env();
    const gate = await startGate({ site, upstream: flower, t });
    const tag = randomBytes(8).toString('hex');
    const url = `${wsUrl(gate)}?tag=${tag}`;
    const anonymous = await handshake(url, {});
    t.is(anonymous.status, 401);
    t.like(JSON.parse(anonymous.body), { decision: 'unauthenticated', reason: 'no_cookie' });
    const forbidden = await handshake(url, { cookie: plain });
    t.is(forbidden.status, 403);
    t.like(JSON.parse(forbidden.body), { decision: 'forbidden', reason: 'not_staff' });
    await t.throwsAsync(open(url, { cookie: plain }));
    t.false((await flower.requests()).some((r) => r.query === `tag=${tag}`));
  },
);

maybe(
  "a cross-site WebSocket handshake with a superuser's cookie is refused 403; the same-origin one tunnels",
  async (t) => {
    const { site, flower, root } = await env();
    const gate = await startGate({ site, upstream: flower, t });
    const tag = randomBytes(8).toString('hex');
    const url = `${wsUrl(gate)}?tag=${tag}`;
    for (const origin of ['https://evil.example', 'null', undefined]) {
      const headers: Record<string, string> = { cookie: root };
      if (origin) headers['origin'] = origin;
      const refused = await handshake(url, headers);
      t.is(refused.status, 403, String(origin));
      t.like(JSON.parse(refused.body), { decision: 'forbidden', reason: 'csrf_origin_mismatch' });
    }
    t.false(
      (await flower.requests()).some((r) => r.query === `tag=${tag}`),
      'none reached Flower',
    );
    const ws = await open(url, { cookie: root, origin: gate.url });
    const echoed = next(ws);
    ws.send('same-origin');
    t.is(await echoed, 'same-origin');
    ws.close();
  },
);

maybe('a WebSocket to an upstream that is down gets 502 on the socket', async (t) => {
  const { site, root } = await env();
  const gate = await startGate({ site, upstream: NOTHING_LISTENS, t });
  const res = await handshake(wsUrl(gate), { cookie: root, origin: gate.url });
  t.is(res.status, 502);
  t.like(JSON.parse(res.body), { error: 'bad_gateway', kind: 'connect' });
  t.is(sample(await gate.metrics(), 'flowergate_proxy_upstream_errors_total{kind="connect"}'), 1);
});

// Timing: the configured timeout or deadline is a lower bound, long enough for what the test does before it on
// a busy machine; the rest is checked by the order of events, not by how fast they came.

maybe('a silent WebSocket is closed at the idle timeout', async (t) => {
  const { site, flower, root } = await env();
  // 2 s: the handshake through the gate must fit in it too, however busy the machine
  const gate = await startGate({ site, upstream: flower, env: { FLOWERGATE_PROXY_IDLE_TIMEOUT: '2' }, t });
  // From before the handshake: the tunnel's idle timer cannot have started earlier.
  const started = performance.now();
  const ws = await open(wsUrl(gate), { cookie: root, origin: gate.url });
  const outcome = await Promise.race([
    closed(ws).then(() => 'closed'),
    new Promise((resolve) => setTimeout(resolve, 30_000, 'still open after 30 s').unref()),
  ]);
  const took = performance.now() - started;
  t.is(outcome, 'closed');
  t.true(took >= 1990, `closed after ${took} ms, not before the idle timeout`);
});

maybe('drain refuses new handshakes and closes open WebSockets at its deadline', async (t) => {
  const { site, flower, root } = await env();
  const gate = await startGate({ site, upstream: flower, t });
  const ws = await open(wsUrl(gate), { cookie: root, origin: gate.url });
  ws.send('still here');
  t.is(await next(ws), 'still here');
  const events: string[] = [];
  const wasClosed = closed(ws).then(() => events.push('closed'));
  const started = performance.now();
  // 5 s: the refused handshake and the echo below must fit before the deadline, however busy the machine
  const draining = gate.app.sidecar!.drain(5000).then(() => events.push('deadline'));
  const refused = await handshake(wsUrl(gate), { cookie: root, origin: gate.url });
  t.is(refused.status, 503);
  ws.send('during drain');
  // should the tunnel close first, say so instead of waiting forever for the echo
  const echo = await Promise.race([next(ws), wasClosed.then(() => '(closed before the echo)')]);
  events.push('echoed');
  t.is(echo, 'during drain', 'an open WebSocket keeps working until the deadline');
  await Promise.all([draining, wasClosed]);
  const took = performance.now() - started;
  t.deepEqual(events, ['echoed', 'deadline', 'closed'], 'closed by the deadline, after it kept working');
  t.true(took >= 4990, `closed after ${took} ms, not before the deadline`);
});
