// SIGTERM on `node src/cli.ts serve` in sidecar mode: /readyz turns 503 at once, the listener closes, every
// request already in flight finishes in full (their responses say Connection: close), an open WebSocket is
// closed at the shutdown deadline, and the process exits 0.
import { createHash } from 'node:crypto';
import http from 'node:http';
import { djangoTool, request, startDjangoSite } from '../support/e2e.ts';
import { eventually } from '../support/eventually.ts';
import { startFlowerUpstream } from '../support/flower-upstream.ts';
import { toolTest } from '../support/require-tool.ts';
import { PREFIX, startGateProcess } from './harness.ts';

const maybe = await toolTest('tornado', djangoTool());

interface Outcome {
  status: number;
  connection: string | undefined;
  bytes: number;
  sha256: string;
  expected: string;
  error: string | null;
}

function get(url: string, cookie: string, agent: http.Agent, onHeaders?: () => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = http.get(url, { headers: { cookie }, agent });
    req.on('response', (res) => {
      onHeaders?.();
      const hash = createHash('sha256');
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      const done = (error: string | null) =>
        resolve({
          status: res.statusCode ?? 0,
          connection: res.headers.connection,
          bytes,
          sha256: hash.digest('hex'),
          expected: String(res.headers['x-body-sha256']),
          error,
        });
      res.on('end', () => done(null));
      res.on('error', (e) => done(e.message));
    });
    req.on('error', (e) =>
      resolve({
        status: 0,
        connection: undefined,
        bytes: 0,
        sha256: '',
        expected: '',
        error: e.message,
      }),
    );
  });
}

maybe(
  'SIGTERM with requests in flight loses none of them, closes WebSockets at the deadline and exits 0',
  async (t) => {
    const [site, flower] = await Promise.all([
      startDjangoSite({ t }),
      startFlowerUpstream({ prefix: 'flower', t }),
    ]);
    const root = await site.cookie('root');
    const gate = await startGateProcess({
      site,
      upstream: flower,
      // 8 s: every in-flight request below must finish well within it on a busy machine
      env: { FLOWERGATE_PROXY_SHUTDOWN_TIMEOUT: '8' },
      t,
    });
    t.is((await request(`${gate.adminUrl}/readyz`)).status, 200);

    // Keep-alive clients, as browsers and ingress controllers are.
    const agent = new http.Agent({ keepAlive: true });
    t.teardown(() => agent.destroy());
    const inFlight: Promise<Outcome>[] = [];
    let streaming = 0;
    const headersSeen = new Promise<void>((resolve) => {
      const onHeaders = () => {
        if (++streaming === 4) resolve();
      };
      inFlight.push(
        ...Array.from({ length: 4 }, () =>
          get(
            `${gate.url}${PREFIX}/stream?size=${2 << 20}&chunk=200000&delay_ms=150`,
            root,
            agent,
            onHeaders,
          ),
        ),
      );
    });
    // Waits 3 s before its headers: SIGTERM arrives before the upstream has answered at all.
    const slow = get(`${gate.url}${PREFIX}/__slow_headers?delay_ms=3000`, root, agent);
    let slowAnswered = false;
    void slow.then(() => {
      slowAnswered = true;
    });

    const ws = new WebSocket(`ws://127.0.0.1:${gate.port}${PREFIX}/ws/echo`, {
      headers: { cookie: root, origin: gate.url },
    } as unknown as string[]);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    const wsClosed = new Promise<number>((resolve) => {
      ws.onclose = () => resolve(Date.now());
    });
    await headersSeen;

    const signalled = Date.now();
    process.kill(gate.proc.pid, 'SIGTERM');
    const ready = await eventually(
      async () => (await request(`${gate.adminUrl}/readyz`)).status,
      (status) => status === 503,
    );
    t.is(ready, 503, '/readyz turns unready');
    t.false(slowAnswered, '/readyz was unready at once: before the request in flight was answered');
    await t.throwsAsync(
      request(`${gate.url}${PREFIX}/healthcheck`),
      { code: 'ECONNREFUSED' },
      'no new connections',
    );

    for (const outcome of await Promise.all(inFlight)) {
      t.is(outcome.error, null);
      t.is(outcome.status, 200);
      t.is(outcome.bytes, 2 << 20);
      t.is(outcome.sha256, outcome.expected);
    }
    const late = await slow;
    t.is(late.status, 200);
    t.is(
      late.connection,
      'close',
      'a response written after SIGTERM tells the client not to reuse the connection',
    );

    const exit = await gate.proc.exited;
    const exitedAfter = Date.now() - signalled;
    t.deepEqual(exit, { code: 0, signal: null });
    const closedAfter = (await wsClosed) - signalled;
    t.true(
      closedAfter >= 7500,
      `the WebSocket stayed open until the deadline (closed after ${closedAfter} ms)`,
    );
    // at the deadline, not whenever: far below the test's own timeout, with room for a busy machine
    t.true(exitedAfter < 20_000, `exited ${exitedAfter} ms after SIGTERM`);
    t.log(`WebSocket closed ${closedAfter} ms and process exited ${exitedAfter} ms after SIGTERM`);
    const messages = gate.logs().map((line) => line['msg']);
    t.true(messages.includes('stopped'));
  },
);

maybe('after SIGTERM the process exits as soon as in-flight work is done, not at the deadline', async (t) => {
  const [site, flower] = await Promise.all([
    startDjangoSite({ t }),
    startFlowerUpstream({ prefix: 'flower', t }),
  ]);
  const root = await site.cookie('root');
  const gate = await startGateProcess({
    site,
    upstream: flower,
    // 60 s: far from the exit this test expects (about a second), whatever the machine's load
    env: { FLOWERGATE_PROXY_SHUTDOWN_TIMEOUT: '60' },
    t,
  });
  const agent = new http.Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());
  // An idle keep-alive connection, and one whose response began before SIGTERM (so it still says keep-alive):
  // neither may hold the process until the deadline.
  t.is((await get(`${gate.url}${PREFIX}/api/workers`, root, agent)).status, 200);
  const huge = await request(`${gate.url}${PREFIX}/api/workers`, {
    headers: { cookie: `${root}; x=${'a'.repeat(20_000)}` },
  });
  t.is(huge.status, 431, 'request headers are bounded by the server (16 KiB)');
  let began: () => void = () => {};
  const headers = new Promise<void>((resolve) => {
    began = resolve;
  });
  const streaming = get(
    `${gate.url}${PREFIX}/stream?size=1000000&chunk=100000&delay_ms=100`,
    root,
    agent,
    () => began(),
  );
  await headers;
  const signalled = Date.now();
  process.kill(gate.proc.pid, 'SIGTERM');
  const outcome = await streaming;
  t.is(outcome.status, 200);
  t.is(outcome.bytes, 1000000);
  t.deepEqual(await gate.proc.exited, { code: 0, signal: null });
  const exitedAfter = Date.now() - signalled;
  t.true(exitedAfter < 30_000, `exited ${exitedAfter} ms after SIGTERM, not at the 60 s deadline`);
});
