import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import type { Sidecar, SidecarDeps } from '../app.ts';
import { effectiveUrlPrefix } from '../config/schema.ts';
import { refusal } from '../decision/pipeline.ts';
import { failureKind } from '../log/failure-log.ts';
import { write } from '../server/auth-endpoints.ts';
import { isMalformed } from '../server/dialects/dialect.ts';
import { framingRefusal } from './framing.ts';
import { createGate } from './gate.ts';
import { createInFlight } from './in-flight.ts';
import { proxyRequest } from './original-request.ts';
import { createRequestHygiene } from './request-headers.ts';
import { createResponseHygiene } from './response-headers.ts';
import { createUpstreamAgent } from './upstream-agent.ts';
import { prefixRedirect } from './url-prefix.ts';
import { createWebExchange, type WebExchange } from './web-exchange.ts';
import { createUpgradeHandler } from './websocket.ts';

/**
 * Sidecar mode: every request outside /_flowergate/ is decided by the shared pipeline, then proxied
 * to the upstream with http-proxy (streaming both ways, one bounded keep-alive pool), WebSocket
 * handshakes included. `drain` lets in-flight work finish on shutdown.
 */
export function createSidecarProxy(deps: SidecarDeps): Sidecar {
  const { config, logger } = deps;
  const settings = config.proxy;
  const urlPrefix = effectiveUrlPrefix(config);
  if (!config.upstream) throw new Error('createSidecarProxy needs config.upstream');
  const upstream = new URL(config.upstream);
  if (upstream.pathname !== '/' || upstream.search) {
    // Flower routes on the full public path (its --url_prefix); the upstream is only where to connect.
    logger.warn(
      { upstream: upstream.origin },
      'the path of FLOWERGATE_UPSTREAM is ignored: paths are forwarded unchanged',
    );
  }
  const timeouts = {
    queueMs: settings.connectTimeout * 1000,
    headersMs: settings.headersTimeout * 1000,
    idleMs: settings.idleTimeout * 1000,
  };
  const agent = createUpstreamAgent({
    upstream,
    maxSockets: settings.maxSockets,
    keepAliveMs: settings.keepAliveTimeout * 1000,
    connectTimeoutMs: timeouts.queueMs,
  });
  const proxy = httpProxy.createProxyServer({
    // An object, not a string: http-proxy would url.parse() a string (deprecated, and lax).
    target: {
      protocol: upstream.protocol,
      host: upstream.hostname.replace(/^\[|\]$/g, ''),
      hostname: upstream.hostname.replace(/^\[|\]$/g, ''),
      port: Number(upstream.port || (upstream.protocol === 'https:' ? 443 : 80)),
    },
    agent,
    // Forward the request target verbatim instead of url.parse(req.url).path, which rewrites some paths.
    toProxy: true,
    prependPath: false,
    selfHandleResponse: true,
    xfwd: false,
  });
  // http-proxy's `deleteLength` sets `Content-Length: 0` on any DELETE/OPTIONS without one, even a
  // chunked one, and then streams the body anyway: those bytes would reach the upstream as a second,
  // undecided request on a pooled connection. Our request hygiene adds the header only when safe.
  const passes = proxy as unknown as { webPasses: Array<{ name: string }> };
  passes.webPasses = passes.webPasses.filter((pass) => pass.name !== 'deleteLength');

  const inFlight = createInFlight();
  const requestHygiene = createRequestHygiene({
    dropCookies: new Set([config.django.sessionCookieName, ...settings.stripCookies]),
    identityNames: [config.headers.user, config.headers.email, config.headers.groups],
    dropBearer: config.kubernetes.tokenAuth,
  });
  const responseHygiene = createResponseHygiene({
    upstream,
    sessionCookieName: config.django.sessionCookieName,
  });
  const gate = createGate({
    pipeline: deps.pipeline,
    answers: deps.answers,
    observe: deps.observe,
    trustedProxies: deps.trustedProxies,
    requestHygiene,
    failures: deps.failures,
  });
  const exchangeDeps = {
    timeouts,
    responseHygiene,
    metrics: deps.metrics,
    failures: deps.failures,
    draining: () => inFlight.draining,
  };

  const exchanges = new WeakMap<IncomingMessage, WebExchange>();
  proxy.on('proxyReq', (proxyReq: ClientRequest, req: IncomingMessage) => {
    const exchange = exchanges.get(req);
    if (exchange) exchange.onProxyReq(proxyReq);
    else proxyReq.destroy(); // its client was already answered (queue timeout)
  });
  proxy.on('proxyRes', (proxyRes: IncomingMessage, req: IncomingMessage) => {
    const exchange = exchanges.get(req);
    if (exchange) exchange.onProxyRes(proxyRes);
    else proxyRes.destroy();
  });
  // Every call passes its own error callback; this only keeps http-proxy from throwing on a stray one.
  proxy.on('error', (error: Error) =>
    deps.failures.record(
      failureKind(error, 'proxy_error'),
      'warn',
      { err: error },
      'proxy error outside an exchange',
    ),
  );

  const upgrades = createUpgradeHandler({
    gate,
    proxyWs: (req, socket, head, onError) => proxy.ws(req, socket, head, {}, onError),
    inFlight,
    metrics: deps.metrics,
    failures: deps.failures,
    timeouts,
    logError: (error) =>
      deps.failures.record(
        failureKind(error, 'websocket_error'),
        'error',
        { err: error },
        'WebSocket handshake failed',
      ),
  });
  proxy.on('proxyReqWs', (proxyReq: ClientRequest, req: IncomingMessage) =>
    upgrades.onProxyReqWs(proxyReq, req),
  );
  proxy.on('open', (upstreamSocket: Duplex) => upgrades.onOpen(upstreamSocket));

  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    request: Parameters<typeof createWebExchange>[1],
  ) =>
    new Promise<void>((resolve) => {
      const exchange = createWebExchange(exchangeDeps, request, () => {
        exchanges.delete(req);
        resolve();
      });
      exchanges.set(req, exchange);
      try {
        proxy.web(req, res, {}, (error) => exchange.onError(error));
      } catch (error) {
        exchange.onError(error);
      }
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    const settled = inFlight.begin(res);
    try {
      // Before anything else: a body we cannot frame as Tornado will must not reach it, decided or not.
      const framing = framingRefusal(req.headers);
      if (framing) {
        // Counted and audited like the gate's other refusals of a request's shape.
        const parsed = proxyRequest(req, deps.trustedProxies);
        const original = isMalformed(parsed) ? parsed.request : parsed.original;
        deps.observe(original, refusal('bad_request', original.uri), (performance.now() - started) / 1000);
        write(res, framing);
        return;
      }
      const redirect = prefixRedirect(urlPrefix, req.method ?? 'GET', req.url ?? '');
      if (redirect) {
        write(res, { status: redirect.status, headers: { Location: redirect.location }, body: '' });
        return;
      }
      const outcome = await gate(req, false);
      if (outcome.kind === 'answer') {
        write(res, outcome.answer);
        return;
      }
      // The client may have left while the decision was made; nothing would ever settle its exchange.
      if (req.socket.destroyed || res.destroyed) return;
      req.headers = outcome.headers as IncomingMessage['headers'];
      await forward(req, res, {
        req,
        res,
        original: outcome.original,
        forwarded: outcome.forwarded,
        started,
      });
    } finally {
      settled();
    }
  };

  return {
    handle,
    handleUpgrade: upgrades.handleUpgrade,
    async drain(deadlineMs) {
      await inFlight.drain(deadlineMs);
      // Pooled upstream connections would keep the process alive; anything still using one is past the deadline.
      agent.destroy();
    },
  };
}
