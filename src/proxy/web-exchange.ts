import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { OriginalRequest } from '../decision/request.ts';
import type { FailureLog } from '../log/failure-log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Forwarded } from './original-request.ts';
import type { ResponseHygieneFn } from './response-headers.ts';
import { failureAnswer, upstreamFailure } from './upstream-failure.ts';

export interface ExchangeTimeouts {
  /** From the call until a pooled connection is free (connecting itself is bounded by the agent). */
  readonly queueMs: number;
  /** From the request fully sent until the upstream's response headers. */
  readonly headersMs: number;
  /** Silence on a connection, either side, once the exchange is under way. */
  readonly idleMs: number;
}

export interface ExchangeDeps {
  readonly timeouts: ExchangeTimeouts;
  readonly responseHygiene: ResponseHygieneFn;
  readonly metrics: Metrics;
  readonly failures: FailureLog;
  readonly draining: () => boolean;
}

/** The hooks http-proxy's events reach an exchange through (its events carry only `req`). */
export interface WebExchange {
  onProxyReq(proxyReq: ClientRequest): void;
  onProxyRes(proxyRes: IncomingMessage): void;
  onError(error: unknown): void;
}

export interface ExchangeRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly original: OriginalRequest;
  readonly forwarded: Forwarded;
  /** performance.now() when the request arrived: the metric covers the decision too. */
  readonly started: number;
}

export function timeoutError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * One proxied HTTP exchange after the decision allowed it: arms the timeouts, writes the upstream's
 * response (cleaned) and streams its body with backpressure, turns failures into a 502/504 answer
 * (or cuts the connection if the answer had already begun, so a truncated body never looks whole),
 * and settles once, with the metric, when the client's response is over.
 */
export function createWebExchange(
  deps: ExchangeDeps,
  request: ExchangeRequest,
  settled: () => void,
): WebExchange {
  const { req, res, original } = request;
  const { timeouts } = deps;
  let upstreamReq: ClientRequest | null = null;
  let upstreamRes: IncomingMessage | null = null;
  let failed = false;
  let done = false;
  let headersTimer: NodeJS.Timeout | undefined;
  const queueTimer = setTimeout(
    () =>
      exchange.onError(
        timeoutError('UND_ERR_CONNECT_TIMEOUT', `no upstream connection free within ${timeouts.queueMs} ms`),
      ),
    timeouts.queueMs,
  );

  const finish = () => {
    if (done) return;
    done = true;
    clearTimeout(queueTimer);
    clearTimeout(headersTimer);
    if (!upstreamRes?.complete) upstreamReq?.destroy();
    // A client that left before any answer is nginx's 499; the label collapses it to 4xx.
    const code = res.headersSent ? res.statusCode : 499;
    deps.metrics.proxyRequest(original.method, code, (performance.now() - request.started) / 1000);
    settled();
  };
  res.once('close', finish);

  const clientGone = () => res.destroyed || req.socket.destroyed;

  const exchange: WebExchange = {
    onProxyReq(proxyReq) {
      clearTimeout(queueTimer);
      upstreamReq = proxyReq;
      if (done || failed) {
        proxyReq.destroy();
        return;
      }
      proxyReq.setTimeout(timeouts.idleMs, () => {
        // Stalled because the client stopped reading, or stopped sending its body: the client's silence,
        // not the upstream's, so it is not counted as an upstream failure.
        if (res.headersSent && res.writableNeedDrain) {
          res.destroy();
          return;
        }
        if (!req.complete && !proxyReq.writableNeedDrain && !res.headersSent) {
          failed = true;
          proxyReq.destroy();
          res.shouldKeepAlive = false;
          res.writeHead(408, {
            'Content-Type': 'application/json; charset=utf-8',
            'Cache-Control': 'no-store',
          });
          res.end(
            `${JSON.stringify({ error: 'request_timeout', detail: 'the request body stopped arriving' })}\n`,
          );
          return;
        }
        proxyReq.destroy(
          timeoutError('ETIMEDOUT', `the upstream connection was idle for ${timeouts.idleMs} ms`),
        );
      });
      proxyReq.once('finish', () => {
        if (upstreamRes) return;
        headersTimer = setTimeout(
          () =>
            proxyReq.destroy(
              timeoutError('UND_ERR_HEADERS_TIMEOUT', `no response headers within ${timeouts.headersMs} ms`),
            ),
          timeouts.headersMs,
        );
      });
    },

    onProxyRes(proxyRes) {
      clearTimeout(headersTimer);
      upstreamRes = proxyRes;
      if (done || failed || clientGone()) {
        proxyRes.destroy();
        return;
      }
      const headers = deps.responseHygiene(
        proxyRes.rawHeaders,
        request.forwarded,
        proxyRes.headers.connection,
      );
      if (deps.draining()) res.shouldKeepAlive = false;
      proxyRes.on('error', (error) => exchange.onError(error));
      try {
        res.writeHead(proxyRes.statusCode ?? 502, proxyRes.statusMessage, headers);
      } catch (error) {
        // A status or header Node will not send (e.g. status 099): a bad answer from the upstream, not a crash.
        exchange.onError(error);
        return;
      }
      // A client that stops reading holds buffers and the upstream connection: bounded by the idle timeout.
      res.setTimeout(timeouts.idleMs, () => res.destroy());
      proxyRes.pipe(res);
    },

    onError(error) {
      if (done || failed) return;
      if (clientGone()) {
        upstreamReq?.destroy();
        return;
      }
      failed = true;
      clearTimeout(queueTimer);
      clearTimeout(headersTimer);
      const failure = upstreamFailure(error);
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
        res.headersSent
          ? 'upstream failed mid-response; connection cut'
          : `upstream failed; answered ${failure.status}`,
      );
      upstreamReq?.destroy();
      upstreamRes?.destroy();
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const answer = failureAnswer(failure, original);
      // The request body may be half read: this connection cannot carry another request.
      res.shouldKeepAlive = false;
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    },
  };
  return exchange;
}
