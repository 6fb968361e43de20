import { type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { OriginalRequest } from '../decision/request.ts';
import type { FailureLog } from '../log/failure-log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Answer } from '../server/answer.ts';
import type { GateOutcome } from './gate.ts';
import { connectionListed, HOP_BY_HOP } from './hop-by-hop.ts';
import type { InFlight } from './in-flight.ts';
import { failureAnswer, upstreamFailure } from './upstream-failure.ts';
import { type ExchangeTimeouts, timeoutError } from './web-exchange.ts';

/** What the upgrade path needs from http-proxy: start a tunnel, with errors reported to the callback. */
export type ProxyWs = (
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  onError: (error: Error) => void,
) => void;

export interface WebSocketDeps {
  readonly gate: (req: IncomingMessage, websocket: boolean) => Promise<GateOutcome>;
  readonly proxyWs: ProxyWs;
  readonly inFlight: InFlight;
  readonly metrics: Metrics;
  readonly failures: FailureLog;
  readonly timeouts: ExchangeTimeouts;
  /** A handshake the gate could not decide (a bug, never a decision): answered 500. */
  readonly logError: (error: unknown) => void;
}

/** The hooks http-proxy's WebSocket events reach a handshake through. */
export interface Handshake {
  onProxyReqWs(proxyReq: ClientRequest): void;
  /** http-proxy opened the tunnel (after it reset the sockets' timeouts, so ours go on now). */
  onOpen(): void;
}

/**
 * WebSocket handshakes: decided by the same gate (a denial is a plain HTTP answer on the socket),
 * then tunnelled by http-proxy. The handshake is bounded by the headers timeout, the tunnel by the
 * idle timeout on both sides, and drain closes tunnels at its deadline.
 */
export function createUpgradeHandler(deps: WebSocketDeps) {
  const handshakes = new WeakMap<IncomingMessage, Handshake>();
  const tunnels = new WeakMap<Duplex, Handshake>();

  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // A client that vanishes mid-handshake must not take the process down with an unhandled 'error'.
    socket.on('error', () => socket.destroy());
    const refusal = refusalFor(req, deps.inFlight.draining);
    if (refusal) {
      writeAnswer(socket, refusal);
      return;
    }
    const started = performance.now();
    const settled = deps.inFlight.begin(null);
    deps
      .gate(req, true)
      .then((outcome) => {
        if (socket.destroyed) return settled();
        if (outcome.kind === 'answer') {
          writeAnswer(socket, outcome.answer);
          return settled();
        }
        req.headers = outcome.headers as IncomingHttpHeaders;
        const handshake = createHandshake(socket, outcome.original, started, settled);
        handshakes.set(req, handshake);
        deps.proxyWs(req, socket, head, (error) => handshake.onError(error));
      })
      .catch((error: unknown) => {
        deps.logError(error);
        if (!socket.destroyed) writeAnswer(socket, plain(500, 'internal error'));
        settled();
      });
  };

  const createHandshake = (
    socket: Duplex,
    original: OriginalRequest,
    started: number,
    settled: () => void,
  ): Handshake & { onError(error: Error): void } => {
    let upstreamReq: ClientRequest | null = null;
    let tunnel: Duplex | null = null;
    let done = false;
    /** The upstream's answer when it did not upgrade; the exchange ends when the client's connection does. */
    let answered: number | null = null;
    let timer: NodeJS.Timeout | undefined;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      deps.metrics.proxyRequest('GET', code, (performance.now() - started) / 1000);
      settled();
    };
    // The client left before the upstream answered (499), or its answer is over.
    socket.once('close', () => {
      if (!tunnel) upstreamReq?.destroy();
      finish(answered ?? 499);
    });

    const handshake = {
      onProxyReqWs(proxyReq: ClientRequest) {
        upstreamReq = proxyReq;
        timer = setTimeout(
          () =>
            proxyReq.destroy(
              timeoutError(
                'UND_ERR_HEADERS_TIMEOUT',
                `no handshake answer within ${deps.timeouts.headersMs} ms`,
              ),
            ),
          deps.timeouts.headersMs,
        );
        // Registered before http-proxy's own listeners, so the headers are cleaned before it writes them.
        proxyReq.once('response', (res) => {
          clearTimeout(timer);
          cleanHeaders(res.headers, false);
          res.headers.connection = 'close';
          answered = res.statusCode ?? 502;
          // Not upgraded: this is a plain answer, and it ends like one. http-proxy pipes it to the socket and
          // ends our side; the socket is then closed, so a client that keeps its side open cannot keep the
          // connection (and shutdown) waiting, nor one that stops reading the answer.
          socket.once('finish', () => socket.destroy());
          if ('setTimeout' in socket && typeof socket.setTimeout === 'function')
            socket.setTimeout(deps.timeouts.idleMs, () => socket.destroy());
        });
        proxyReq.once('upgrade', (res, upstreamSocket: Duplex) => {
          cleanHeaders(res.headers, true);
          tunnel = upstreamSocket;
          tunnels.set(upstreamSocket, handshake);
          deps.inFlight.tunnel(socket, upstreamSocket);
          finish(101);
        });
      },
      onOpen() {
        if (!tunnel) return;
        const upstreamSocket = tunnel;
        const close = () => {
          socket.destroy();
          upstreamSocket.destroy();
        };
        for (const side of [socket, upstreamSocket]) {
          if ('setTimeout' in side && typeof side.setTimeout === 'function')
            side.setTimeout(deps.timeouts.idleMs, close);
        }
      },
      onError(error: Error) {
        const failure = upstreamFailure(error);
        if (socket.destroyed && !tunnel) return;
        deps.metrics.upstreamError(failure.kind);
        deps.failures.record(
          `upstream_${failure.kind}`,
          'warn',
          {
            requestId: original.requestId,
            kind: failure.kind,
            code: (error as { code?: string }).code,
            err: error,
          },
          tunnel
            ? 'upstream WebSocket failed; tunnel closed'
            : `upstream failed during the WebSocket handshake; answered ${failure.status}`,
        );
        // http-proxy ends the socket right after this callback; before the 101 it still speaks HTTP.
        if (!tunnel && !done && !socket.destroyed) {
          writeAnswer(socket, failureAnswer(failure, original), false);
          finish(failure.status);
        }
      },
    };
    return handshake;
  };

  return {
    handleUpgrade,
    onProxyReqWs: (proxyReq: ClientRequest, req: IncomingMessage) => {
      const handshake = handshakes.get(req);
      if (handshake) handshake.onProxyReqWs(proxyReq);
      else proxyReq.destroy();
    },
    onOpen: (upstreamSocket: Duplex) => tunnels.get(upstreamSocket)?.onOpen(),
  };
}

/** Response headers http-proxy copies verbatim: no CORS grants, no hop-by-hop fields (except a 101's own). */
function cleanHeaders(headers: IncomingHttpHeaders, switching: boolean): void {
  const listed = switching ? new Set<string>() : connectionListed(headers.connection);
  for (const name of Object.keys(headers)) {
    if (name.startsWith('access-control-') || listed.has(name)) delete headers[name];
    else if (HOP_BY_HOP.has(name) && !(switching && (name === 'connection' || name === 'upgrade')))
      delete headers[name];
  }
}

function plain(status: number, detail: string): Answer {
  return {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' },
    body: `${JSON.stringify({ error: STATUS_CODES[status]?.toLowerCase().replaceAll(' ', '_') ?? 'error', detail })}\n`,
  };
}

/** Handshakes answered before any decision: during shutdown, on the reserved prefix, or not WebSocket at all. */
function refusalFor(req: IncomingMessage, draining: boolean): Answer | null {
  if (draining) return plain(503, 'shutting down');
  if ((req.url ?? '').startsWith('/_flowergate/')) return plain(404, 'reserved prefix /_flowergate/');
  if (req.method !== 'GET' || (req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
    return plain(400, 'only WebSocket upgrades are proxied');
  // A handshake has no body; one that declares a framing would have its bytes read as WebSocket frames.
  if (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) !== 0)
    return plain(400, 'a WebSocket handshake has no body');
  return null;
}

/** An HTTP/1.1 answer written straight on the socket: the upgrade path has no ServerResponse. */
function writeAnswer(socket: Duplex, answer: Answer, end = true): void {
  const body = Buffer.from(answer.body);
  const head = [`HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}`];
  for (const [name, value] of Object.entries(answer.headers)) head.push(`${name}: ${value}`);
  head.push(`Content-Length: ${body.length}`, 'Connection: close', '', '');
  const bytes = Buffer.concat([Buffer.from(head.join('\r\n'), 'latin1'), body]);
  if (end) socket.end(bytes);
  else socket.write(bytes);
}
