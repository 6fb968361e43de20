import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type Koa from 'koa';
import { Registry } from 'prom-client';
import { createAdminApp } from './admin/admin-server.ts';
import { createReadiness, type Readiness } from './admin/readiness.ts';
import { createTtlCache } from './cache/ttl-cache.ts';
import { type Config, effectiveUrlPrefix } from './config/schema.ts';
import { createCsrfGuard } from './decision/csrf.ts';
import { createPipeline, type DecisionObserver, type KubeGate, type Pipeline } from './decision/pipeline.ts';
import type { DjangoDatabase } from './django/database/store.ts';
import { nowMicros } from './django/instant.ts';
import { createSessionResolver } from './django/resolve-session.ts';
import type { SessionVerdict } from './django/verdict.ts';
import { createAuditLog } from './log/audit.ts';
import { createFailureLog, type FailureLog, failureKind } from './log/failure-log.ts';
import type { Logger } from './log/logger.ts';
import { logRequestError } from './log/request-error.ts';
import { createMetrics, type Metrics } from './metrics/metrics.ts';
import { createHostCheck } from './policy/allowed-hosts.ts';
import { type NetworkSet, parseNetworks } from './policy/networks.ts';
import { createPolicy } from './policy/policy.ts';
import { type AnswerOptions, createIdentityHeaders } from './server/answer.ts';
import { createAuthEndpoints, failClosed } from './server/auth-endpoints.ts';
import { createMainApp } from './server/main-app.ts';
import { createRedirectCheck } from './server/safe-redirect.ts';
import { VERSION } from './version.ts';

/** The sidecar proxy, when an upstream is configured. */
export interface Sidecar {
  /** Decides and proxies one request outside /_flowergate/; owns the response. */
  handle(request: IncomingMessage, response: ServerResponse): Promise<void>;
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Resolves once in-flight proxied requests and WebSockets have finished, or the deadline passed. */
  drain(deadlineMs: number): Promise<void>;
}

export interface AppDeps {
  readonly config: Config;
  readonly logger: Logger;
  /** Django's database, opened by `openDatabase` (src/django/database/open-database.ts) or a test's own. */
  readonly database: DjangoDatabase;
  /** Service-account authentication, built with the app's metrics; absent unless token auth is on. */
  readonly createKube?: (deps: {
    config: Config;
    metrics: Metrics;
  }) => (KubeGate & { close(): Promise<void> }) | null;
  readonly registry?: Registry;
  readonly now?: () => number;
  readonly createSidecar?: (deps: SidecarDeps) => Sidecar;
}

export interface SidecarDeps {
  readonly config: Config;
  readonly pipeline: Pipeline;
  readonly answers: AnswerOptions;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Per-request failures (upstream down…) go here, so an outage is summarised rather than logged per request. */
  readonly failures: FailureLog;
  readonly observe: DecisionObserver;
  readonly trustedProxies: NetworkSet | null;
}

export interface App {
  /**
   * The main port's request listener: the forward-auth endpoints, then the proxy (sidecar mode),
   * then Koa for whoami, sign-in and the reserved prefix's 404s.
   */
  readonly handler: RequestListener;
  readonly admin: Koa;
  readonly readiness: Readiness;
  readonly metrics: Metrics;
  readonly registry: Registry;
  readonly pipeline: Pipeline;
  readonly sidecar: Sidecar | null;
  close(): Promise<void>;
}

/** The composition root: builds every part from the configuration and wires them together. No listening here. */
export function createApp(deps: AppDeps): App {
  const { config, logger } = deps;
  const registry = deps.registry ?? new Registry();
  const metrics = createMetrics({ registry, version: VERSION });
  const database = observeStore(deps.database, metrics);
  const resolver = createSessionResolver(config.django, database);
  const kube = deps.createKube?.({ config, metrics }) ?? null;
  const trusted = config.trustedProxies.length ? parseNetworks(config.trustedProxies) : null;
  if (typeof trusted === 'string') throw new Error(`trustedProxies: ${trusted}`);

  const allowMs = config.cache.allowTtl * 1000;
  const denyMs = config.cache.denyTtl * 1000;
  const verdictCache =
    allowMs > 0 || denyMs > 0
      ? createTtlCache<SessionVerdict>({
          maxEntries: config.cache.maxEntries,
          ttlMs: (verdict) => (verdict.kind === 'user' ? allowMs : denyMs),
          // Denials get their own room: made-up session keys cannot push real users' verdicts out.
          kind: (verdict) => (verdict.kind === 'user' ? 0 : 1),
        })
      : null;

  const urlPrefix = effectiveUrlPrefix(config);
  const hostCheck = createHostCheck(config.allowedHosts);
  if (!hostCheck) {
    logger.warn(
      "FLOWERGATE_ALLOWED_HOSTS is not set: requests for any host are judged, and the request's own host " +
        'is never a `next` target after sign-in (only the login host and FLOWERGATE_ALLOWED_REDIRECT_HOSTS are). ' +
        "Set it to Flower's public host names, as Django's ALLOWED_HOSTS.",
    );
  }
  const pipeline = createPipeline({
    resolver,
    policy: createPolicy(config.policy),
    verdictCache,
    csrfGuard: config.policy.csrfGuard ? createCsrfGuard(config.policy.trustedOrigins) : () => true,
    kube,
    now: deps.now ?? nowMicros,
    urlPrefix,
    hostCheck,
    onCacheResult: (result) => metrics.decisionCache(result),
  });

  const loginHost = config.django.loginUrl ? [new URL(config.django.loginUrl).hostname] : [];
  const answers: AnswerOptions = {
    loginUrl: config.django.loginUrl,
    logoutUrl: config.django.logoutUrl,
    bearerChallenge: config.kubernetes.tokenAuth,
    headerNames: config.headers,
    identityHeaders: createIdentityHeaders(config.headers),
    redirectCheck: createRedirectCheck([...config.allowedRedirectHosts, ...loginHost], hostCheck),
  };

  // One budget per kind of repeated line: an outage answers every request 503 and counts it, but the
  // log gets the first failure of each kind per interval and a line counting the rest.
  const failures = createFailureLog({ logger });
  const audit = createAuditLog({
    logger,
    allowSampleRate: config.log.allowSampleRate,
    unauthenticatedPerSecond: config.log.unauthenticatedPerSecond,
  });
  const observe: DecisionObserver = (request, result, seconds) => {
    metrics.decision(request.dialect, result.decision, result.reason, seconds, result.cache);
    const principal = result.principal;
    audit.record({
      requestId: request.requestId,
      dialect: request.dialect,
      method: request.method,
      host: request.host,
      path: request.uri,
      client: request.client ?? '',
      user:
        principal?.kind === 'django'
          ? principal.identity.username
          : (principal?.username ?? result.knownUser ?? null),
      decision: result.decision,
      reason: result.reason,
      cache: result.cache,
      durationMs: seconds * 1000,
    });
    if (result.error)
      failures.record(
        failureKind(result.error, 'decision_error'),
        'error',
        { err: result.error, requestId: request.requestId },
        'decision failed; answered 503',
      );
  };

  const sidecar =
    config.upstream && deps.createSidecar
      ? deps.createSidecar({
          config,
          pipeline,
          answers,
          metrics,
          logger,
          failures,
          observe,
          trustedProxies: trusted,
        })
      : null;
  const main = createMainApp({ pipeline, answers, trustedProxies: trusted, urlPrefix });
  const onError = (error: unknown) => logRequestError(logger, failures, error);
  main.on('error', onError);
  const auth = createAuthEndpoints({
    pipeline,
    answers,
    trustedProxies: trusted,
    observe,
    onError,
  });
  const koa = main.callback();
  const handler: RequestListener = (req, res) => {
    if (auth(req, res)) return;
    if (sidecar && !req.url?.startsWith('/_flowergate/')) {
      sidecar.handle(req, res).catch((error: unknown) => failClosed(res, error, onError));
      return;
    }
    void koa(req, res);
  };

  const storeTimeoutMs = Math.round(config.storeTimeout * 1000);
  const readiness = createReadiness({
    ping: () => database.ping(),
    intervalMs: 5000,
    timeoutMs: Math.min(storeTimeoutMs, 2000),
  });
  const admin = createAdminApp({ registry, readiness });

  return {
    handler,
    admin,
    readiness,
    metrics,
    registry,
    pipeline,
    sidecar,
    async close() {
      readiness.stop();
      // Counts of left-out lines still pending are written, not lost with the process.
      failures.flush();
      audit.flush();
      await Promise.all([database.close(), kube?.close()]);
    },
  };
}

/** Wraps the database so every query is timed into `flowergate_session_store_duration_seconds`. */
function observeStore(database: DjangoDatabase, metrics: Metrics): DjangoDatabase {
  const engine = database.kind;
  const timed =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>, isMiss: (value: R) => boolean = () => false) =>
    async (...args: A): Promise<R> => {
      const started = performance.now();
      try {
        const value = await fn(...args);
        metrics.storeQuery(engine, isMiss(value) ? 'miss' : 'ok', (performance.now() - started) / 1000);
        return value;
      } catch (error) {
        const timeout = (error as { code?: string }).code === 'STORE_TIMEOUT';
        metrics.storeQuery(engine, timeout ? 'timeout' : 'error', (performance.now() - started) / 1000);
        throw error;
      }
    };
  return {
    kind: database.kind,
    findSession: timed(database.findSession.bind(database), (row) => row === null),
    findUser: timed(database.findUser.bind(database), (row) => row === null),
    groupNames: timed(database.groupNames.bind(database)),
    hasPermission: timed(database.hasPermission.bind(database)),
    ping: database.ping.bind(database),
    close: database.close.bind(database),
  };
}
