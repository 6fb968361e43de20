// The sidecar's upstream pool against a real node:http upstream that counts the connections it accepts.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { createUpstreamAgent } from '../../src/proxy/upstream-agent.ts';

/** An upstream that holds every answer until `release()`, and counts connections (open now, and ever). */
async function upstream(t: ExecutionContext) {
  const held: http.ServerResponse[] = [];
  let waiting: { count: number; resolve: () => void } | null = null;
  const stats = { accepted: 0, open: 0, mostOpen: 0 };
  const server = http.createServer((_req, res) => {
    held.push(res);
    if (waiting && held.length >= waiting.count) waiting.resolve();
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket) => {
    stats.accepted++;
    stats.open++;
    stats.mostOpen = Math.max(stats.mostOpen, stats.open);
    socket.on('close', () => stats.open--);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    stats,
    /** Resolves once `count` requests are held. */
    holding: (count: number) =>
      new Promise<void>((resolve) => {
        if (held.length >= count) resolve();
        else waiting = { count, resolve };
      }),
    release() {
      for (const res of held.splice(0)) res.end('ok');
    },
  };
}

/** `n` GETs through the agent at once, all answered together. */
async function burst(server: Awaited<ReturnType<typeof upstream>>, agent: http.Agent, n: number, held = n) {
  const answers = Array.from(
    { length: n },
    () =>
      new Promise<number>((resolve, reject) => {
        http
          .get({ host: server.url.hostname, port: server.url.port, path: '/', agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          })
          .on('error', reject);
      }),
  );
  await server.holding(held);
  server.release();
  // Requests past maxSockets reach the upstream only as earlier ones finish: answer those as they come.
  const rest = setInterval(() => server.release(), 5);
  try {
    return await Promise.all(answers);
  } finally {
    clearInterval(rest);
  }
}

test('a burst of parallel requests keeps its connections: the next burst opens none', async (t) => {
  const server = await upstream(t);
  const agent = createUpstreamAgent({
    upstream: server.url,
    maxSockets: 128,
    keepAliveMs: 10_000,
    connectTimeoutMs: 5000,
  });
  t.teardown(() => agent.destroy());
  t.deepEqual(await burst(server, agent, 64), Array(64).fill(200));
  t.is(server.stats.accepted, 64, 'the first burst opens one connection per request');
  await new Promise((resolve) => setImmediate(resolve)); // the answered sockets go back to the pool
  t.deepEqual(await burst(server, agent, 64), Array(64).fill(200));
  t.is(server.stats.accepted, 64, 'the second burst reuses all 64 (no close-and-reopen churn)');
});

test('the pool stays bounded: more parallel requests than maxSockets wait for a connection', async (t) => {
  const server = await upstream(t);
  const agent = createUpstreamAgent({
    upstream: server.url,
    maxSockets: 8,
    keepAliveMs: 10_000,
    connectTimeoutMs: 5000,
  });
  t.teardown(() => agent.destroy());
  t.deepEqual(await burst(server, agent, 40, 8), Array(40).fill(200));
  t.is(server.stats.mostOpen, 8, 'never more than maxSockets connections at once');
  t.is(server.stats.accepted, 8, 'and those 8 served all 40');
});

test('with keep-alive off, every request gets a connection of its own and none is kept', async (t) => {
  const server = await upstream(t);
  const agent = createUpstreamAgent({
    upstream: server.url,
    maxSockets: 16,
    keepAliveMs: 0,
    connectTimeoutMs: 5000,
  });
  t.teardown(() => agent.destroy());
  await burst(server, agent, 4);
  await burst(server, agent, 4);
  t.is(server.stats.accepted, 8);
  t.is(Object.values(agent.freeSockets).flat().length, 0);
});
