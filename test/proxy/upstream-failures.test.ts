// Upstream failures behind the sidecar proxy: refused, reset, too slow to answer, silent mid-body, a full pool,
// a client that stops reading. Each gives a clear 502/504 (or a cut connection once the answer has begun), is
// counted by kind, and the next request is served normally.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import test from 'ava';
import { djangoTool, request, startDjangoSite } from '../support/e2e.ts';
import { eventually } from '../support/eventually.ts';
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
    return { site, flower, root: await site.cookie('root') };
  })();
}
const env = () => {
  world ??= setUp();
  return world;
};

const errors = async (gate: { metrics(): Promise<string> }, kind: string) =>
  sample(await gate.metrics(), `flowergate_proxy_upstream_errors_total{kind="${kind}"}`);

/** Requests the gate has finished with (observed when its side of the response closes). */
const finished = async (gate: { metrics(): Promise<string> }, code: number) =>
  sample(
    await gate.metrics(),
    `flowergate_proxy_request_duration_seconds_count{method="GET",code="${code}"}`,
  ) ?? 0;

// Timing: a configured timeout is asserted as a lower bound, and set long enough for the honest requests of the
// same test to fit in it on a busy machine. What must happen "before" something else is given a margin load
// cannot eat (an upstream 60 s late against a 5 s timeout), or checked by the order of events.

maybe('upstream down: 502 JSON for API clients, a 502 page for browsers, counted as connect', async (t) => {
  const { site, root } = await env();
  const gate = await startGate({ site, upstream: NOTHING_LISTENS, t });
  const api = await request(`${gate.url}${PREFIX}/api/workers`, { headers: { cookie: root } });
  t.is(api.status, 502);
  t.is(api.headers['content-type'], 'application/json; charset=utf-8');
  t.like(JSON.parse(api.body), { error: 'bad_gateway', kind: 'connect' });
  const page = await request(`${gate.url}${PREFIX}/`, { headers: { cookie: root, accept: 'text/html' } });
  t.is(page.status, 502);
  t.regex(String(page.headers['content-type']), /^text\/html/);
  t.regex(page.body, /502 Bad Gateway/);
  t.is(await errors(gate, 'connect'), 2);
  t.is(
    sample(await gate.metrics(), 'flowergate_proxy_request_duration_seconds_count{method="GET",code="502"}'),
    2,
  );
  const whoami = await request(`${gate.url}/_flowergate/whoami`, { headers: { cookie: root } });
  t.is(whoami.status, 200, 'the service keeps serving');
});

maybe('slow response headers: 504 at the headers timeout, and the next request works', async (t) => {
  const { site, flower, root } = await env();
  const gate = await startGate({
    site,
    upstream: flower,
    // 5 s: the next request's answer must fit in it too, however busy the machine
    env: { FLOWERGATE_PROXY_HEADERS_TIMEOUT: '5' },
    t,
  });
  const started = performance.now();
  // 60 s late against a timeout of 5 s: only the headers timeout can answer before request()'s own 15 s.
  const slow = await request(`${gate.url}${PREFIX}/__slow_headers?delay_ms=60000`, {
    headers: { cookie: root },
  });
  const took = performance.now() - started;
  t.is(slow.status, 504);
  t.like(JSON.parse(slow.body), { error: 'gateway_timeout', kind: 'timeout' });
  t.true(took >= 4990, `answered after ${took} ms, not before the timeout`);
  t.is(await errors(gate, 'timeout'), 1);
  const next = await request(`${gate.url}${PREFIX}/api/workers`, { headers: { cookie: root } });
  t.is(next.status, 200);
});

maybe(
  'an upstream that resets the connection: 502 counted as reset, and the next request works',
  async (t) => {
    const { site, flower, root } = await env();
    const gate = await startGate({ site, upstream: flower, t });
    const reset = await request(`${gate.url}${PREFIX}/__reset`, { headers: { cookie: root } });
    t.is(reset.status, 502);
    t.like(JSON.parse(reset.body), { error: 'bad_gateway', kind: 'reset' });
    t.is(await errors(gate, 'reset'), 1);
    for (let i = 0; i < 3; i++) {
      t.is((await request(`${gate.url}${PREFIX}/api/workers`, { headers: { cookie: root } })).status, 200);
    }
  },
);

maybe(
  'an upstream silent mid-body past the idle timeout: the connection is cut, never a short 200 that looks whole',
  async (t) => {
    const { site, flower, root } = await env();
    const gate = await startGate({
      site,
      upstream: flower,
      // 3 s: the upstream's headers and first chunk must come within it, however busy the machine
      env: { FLOWERGATE_PROXY_IDLE_TIMEOUT: '3' },
      t,
    });
    const outcome = await new Promise<{ status: number; bytes: number; error: string | null }>((resolve) => {
      // 30 s between chunks against an idle timeout of 3 s
      const req = http.get(`${gate.url}${PREFIX}/stream?size=300000&chunk=100000&delay_ms=30000&length=1`, {
        headers: { cookie: root },
        agent: false,
      });
      req.on('response', (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        res.on('error', (e) => resolve({ status: res.statusCode ?? 0, bytes, error: e.message }));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, error: null }));
      });
      req.on('error', (e) => resolve({ status: 0, bytes: 0, error: e.message }));
    });
    t.is(outcome.status, 200);
    t.is(outcome.bytes, 100000);
    t.truthy(outcome.error, 'the client sees an aborted response');
    t.is(await errors(gate, 'timeout'), 1);
    // The metric is observed when the gate's side of the response closes, a moment after the client saw it.
    t.is(
      await eventually(
        () => finished(gate, 200),
        (n) => n >= 1,
      ),
      1,
    );
  },
);

maybe(
  'a full upstream pool: a request waits at most the connect timeout for a connection, then 504',
  async (t) => {
    const { site, flower, root } = await env();
    const gate = await startGate({
      site,
      upstream: flower,
      env: { FLOWERGATE_PROXY_MAX_SOCKETS: '1', FLOWERGATE_PROXY_CONNECT_TIMEOUT: '0.5' },
      t,
    });
    const tag = randomUUID();
    // Holds the one connection for 10 s: the waiting request must be answered while it still does.
    const busy = request(`${gate.url}${PREFIX}/__slow_headers?delay_ms=10000&tag=${tag}`, {
      headers: { cookie: root },
    });
    let busyDone = false;
    void busy.finally(() => {
      busyDone = true;
    });
    // Only once the upstream has it is the one pooled connection surely taken.
    while (!(await flower.requests()).some((r) => r.query.includes(tag))) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const started = performance.now();
    const waiting = await request(`${gate.url}${PREFIX}/api/workers`, { headers: { cookie: root } });
    const took = performance.now() - started;
    t.is(waiting.status, 504);
    t.true(took >= 490, `answered after ${took} ms, not before the connect timeout`);
    t.false(busyDone, 'answered while the connection was still taken, not once it was free');
    t.is((await busy).status, 200, 'the request holding the connection is unaffected');
    t.is((await request(`${gate.url}${PREFIX}/api/workers`, { headers: { cookie: root } })).status, 200);
  },
);

maybe(
  'a client that stops reading is cut off at the idle timeout and is not blamed on the upstream',
  async (t) => {
    const { site, flower, root } = await env();
    // 5 s: the upstream hashes the whole body before its headers, which must fit in the idle timeout too.
    const gate = await startGate({ site, upstream: flower, env: { FLOWERGATE_PROXY_IDLE_TIMEOUT: '5' }, t });
    const size = 64 << 20;
    const outcome = await new Promise<{ bytes: number; error: string | null }>((resolve) => {
      const req = http.get(`${gate.url}${PREFIX}/stream?size=${size}&chunk=${1 << 20}&length=1`, {
        headers: { cookie: root },
        agent: false,
      });
      req.on('response', (res) => {
        // Stop reading: the kernel buffers fill, then the gate's writes stall. A paused client cannot see the
        // close either, so read again once the gate is done with the exchange, and look at what is left.
        res.pause();
        let bytes = 0;
        void eventually(
          () => finished(gate, 200),
          (n) => n >= 1,
          { timeoutMs: 60_000, everyMs: 100 },
        ).then(() => {
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
          });
          res.resume();
        });
        res.on('error', (e) => resolve({ bytes, error: e.message }));
        res.on('end', () => resolve({ bytes, error: null }));
      });
      req.on('error', (e) => resolve({ bytes: 0, error: e.message }));
    });
    t.truthy(outcome.error, 'the gate closed the connection');
    t.true(outcome.bytes < size, `${outcome.bytes} of ${size} bytes arrived`);
    t.is(await errors(gate, 'timeout'), 0);
    t.is((await request(`${gate.url}${PREFIX}/api/workers`, { headers: { cookie: root } })).status, 200);
  },
);

maybe(
  'a client that stops sending its body gets 408 at the idle timeout, not blamed on the upstream',
  async (t) => {
    const { site, flower, root } = await env();
    // 5 s: the next request's answer must fit in it too, however busy the machine
    const gate = await startGate({ site, upstream: flower, env: { FLOWERGATE_PROXY_IDLE_TIMEOUT: '5' }, t });
    const started = performance.now();
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${gate.url}${PREFIX}/upload`, {
        method: 'POST',
        headers: { cookie: root, origin: gate.url, 'content-length': String(1 << 20) },
        agent: false,
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write(Buffer.alloc(4096)); // and then nothing more
    });
    const took = performance.now() - started;
    t.is(status, 408);
    // At the idle timeout (5 s), not at the server's request timeout (30 s), which would be a 408 too.
    t.true(took >= 4990 && took < 25_000, `answered after ${took} ms`);
    t.is(await errors(gate, 'timeout'), 0);
    t.is((await request(`${gate.url}${PREFIX}/api/workers`, { headers: { cookie: root } })).status, 200);
  },
);
