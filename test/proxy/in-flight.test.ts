// Shutdown waits for work in flight, and only for that: a WebSocket handshake the upstream answers without
// upgrading (Tornado's 200 page, a 404) ends like any request, even when its client keeps its side of the
// connection open, so `node src/cli.ts serve` exits on SIGTERM right after the answer instead of at the
// shutdown deadline. The twin: a handshake that did upgrade is a tunnel, which the deadline closes.
import net from 'node:net';
import { djangoTool } from '../support/e2e.ts';
import { toolTest } from '../support/require-tool.ts';
import { PREFIX, sharedSiteAndUpstream, startGateProcess } from './harness.ts';

const maybe = await toolTest('tornado', djangoTool());

const env = sharedSiteAndUpstream();

/** Far longer than any shutdown that does not wait for it; what is asserted is that it is not waited for. */
const DEADLINE_S = 60;

interface Handshake {
  /** Resolves with the status line's code once the answer's head has arrived. */
  status: Promise<number>;
  /** Resolves when the server has closed the connection (its FIN: we never close ours). */
  ended: Promise<void>;
  socket: net.Socket;
}

/** A WebSocket handshake on a raw socket from a client that never closes its side of the connection. */
function handshake(port: number, path: string, cookie: string): Handshake {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  socket.on('error', () => {});
  let head = '';
  const status = new Promise<number>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const code = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (code && head.includes('\r\n\r\n')) resolve(Number(code[1]));
    });
  });
  const ended = new Promise<void>((resolve) => socket.once('end', resolve));
  socket.write(
    [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      `Cookie: ${cookie}`,
      `Origin: http://127.0.0.1:${port}`,
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      '',
      '',
    ].join('\r\n'),
  );
  return { status, ended, socket };
}

/** 'exited' when the process exits before `ms`, else 'running'. */
const exitedWithin = (exited: Promise<unknown>, ms: number) =>
  Promise.race([
    exited.then(() => 'exited' as const),
    new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), ms).unref()),
  ]);

for (const [label, path, status] of [
  ['200 (a page, not a WebSocket)', `${PREFIX}/tasks`, 200],
  ['404', `${PREFIX}/no-such-page`, 404],
] as const) {
  maybe(
    `a WebSocket handshake answered ${label} by the upstream does not hold up SIGTERM, even from a client that stays connected`,
    async (t) => {
      const { site, flower, root } = await env();
      const gate = await startGateProcess({
        site,
        upstream: flower,
        env: { FLOWERGATE_PROXY_SHUTDOWN_TIMEOUT: String(DEADLINE_S) },
        t,
      });
      const answered = handshake(gate.port, path, root);
      t.teardown(() => answered.socket.destroy());
      t.is(await answered.status, status);
      // The answer ends the exchange: the server closes the connection without waiting for the client.
      await answered.ended;
      process.kill(gate.proc.pid, 'SIGTERM');
      t.is(
        await exitedWithin(gate.proc.exited, (DEADLINE_S / 2) * 1000),
        'exited',
        'the process exits when its work is done, not at the shutdown deadline',
      );
      t.deepEqual(gate.proc.exitStatus(), { code: 0, signal: null });
    },
  );
}

maybe('the twin: an upgraded WebSocket is work in flight, and SIGTERM waits for it', async (t) => {
  const { site, flower, root } = await env();
  const gate = await startGateProcess({
    site,
    upstream: flower,
    env: { FLOWERGATE_PROXY_SHUTDOWN_TIMEOUT: '3' },
    t,
  });
  const tunnel = handshake(gate.port, `${PREFIX}/ws/echo`, root);
  t.teardown(() => tunnel.socket.destroy());
  t.is(await tunnel.status, 101);
  process.kill(gate.proc.pid, 'SIGTERM');
  t.is(await exitedWithin(gate.proc.exited, 1000), 'running', 'the open tunnel holds the process');
  await tunnel.ended; // closed at the deadline
  t.deepEqual(await gate.proc.exited, { code: 0, signal: null });
});
