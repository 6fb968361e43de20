import { Counter, collectDefaultMetrics, Gauge, type Registry } from 'prom-client';
import type { CacheLabel, DecisionKind, Dialect } from '../decision/labels.ts';
import type { Reason } from '../reasons.ts';
import {
  boundCache,
  boundCode,
  boundDecision,
  boundDecisionCacheResult,
  boundDialect,
  boundEngine,
  boundKubeKind,
  boundKubeResult,
  boundMethod,
  boundReason,
  boundStoreResult,
  boundUpstreamErrorKind,
  DECISION_CACHE_RESULTS,
  type DecisionCacheResult,
  KUBE_KIND_VALUES,
  KUBE_RESULT_VALUES,
  type KubeReviewKind,
  type KubeReviewResult,
  type StoreEngine,
  type StoreResult,
  UPSTREAM_ERROR_KINDS,
  type UpstreamErrorKind,
} from './bounded-labels.ts';
import { HotCounter, HotHistogram } from './hot-metrics.ts';

export type {
  DecisionCacheResult,
  KubeReviewKind,
  KubeReviewResult,
  ProxyMethod,
  StoreEngine,
  StoreResult,
  UpstreamErrorKind,
} from './bounded-labels.ts';

export const METRIC_PREFIX = 'flowergate_';

/**
 * Buckets follow what each histogram measures (upper bounds in seconds):
 * - decisions: a cache hit is tens of µs, a signed cookie or a local SQLite row a few hundred µs,
 *   a network database a few ms; 1 s is already an outage. 0.25 s is a bound so the p99 alert
 *   threshold interpolates exactly.
 * - proxied requests: Flower pages and API calls take ms to seconds; task listings on a large
 *   broker take longer; 60 s matches the upstream headers timeout.
 * - store queries: a SQLite read is ~100 µs, a PostgreSQL/MySQL round trip ~1 ms; the last bound is
 *   the default store timeout (2 s), where a query is abandoned.
 */
export const DECISION_BUCKETS: readonly number[] = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];
export const PROXY_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];
export const STORE_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2,
];

/**
 * prom-client's default metrics include three gauges named `…_total`, which promtool rejects
 * ("non-counter metrics should not have _total suffix"). Each equals sum() over its by-type sibling
 * (`flowergate_nodejs_active_handles{type}` and so on), so dropping them loses nothing.
 */
const MISNAMED_DEFAULT_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export interface MetricsOptions {
  readonly registry: Registry;
  /** flowergate's own version, for `flowergate_build_info`. */
  readonly version: string;
  readonly nodeVersion?: string;
}

/** Typed, label-bounded handles for every flowergate metric. Cheap enough for the hot path. */
export interface Metrics {
  decision(
    dialect: Dialect,
    decision: DecisionKind,
    reason: Reason,
    seconds: number,
    cache: CacheLabel,
  ): void;
  /** `method` is the client's; unusual ones count as `OTHER`. `code` is the status sent back. */
  proxyRequest(method: string, code: number, seconds: number): void;
  upstreamError(kind: UpstreamErrorKind): void;
  storeQuery(engine: StoreEngine, result: StoreResult, seconds: number): void;
  decisionCache(result: DecisionCacheResult): void;
  kubeReview(kind: KubeReviewKind, result: KubeReviewResult, cached: boolean): void;
}

export function createMetrics(options: MetricsOptions): Metrics {
  const { registry } = options;
  const registers = [registry];
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(METRIC_PREFIX + name);

  new Gauge({
    name: 'flowergate_build_info',
    help: 'Always 1; labels identify the running flowergate and Node.js versions.',
    labelNames: ['version', 'node_version'],
    registers,
  }).set({ version: options.version, node_version: options.nodeVersion ?? process.version }, 1);

  // Updated on every request: bound cells of plain numbers (hot-metrics.ts), not prom-client children.
  const decisions = new HotCounter({
    name: 'flowergate_auth_decisions_total',
    help: 'Authorization decisions by dialect, outcome and reason code.',
    labelNames: ['dialect', 'decision', 'reason'],
    registry,
  });
  const decisionDuration = new HotHistogram({
    name: 'flowergate_auth_decision_duration_seconds',
    help: 'Time to decide one request, by dialect and whether the verdict came from the cache.',
    labelNames: ['dialect', 'cache'],
    buckets: DECISION_BUCKETS,
    registry,
  });
  const proxyDuration = new HotHistogram({
    name: 'flowergate_proxy_request_duration_seconds',
    help: 'Time from receiving a proxied request to the end of the upstream response.',
    labelNames: ['method', 'code'],
    buckets: PROXY_BUCKETS,
    registry,
  });
  const upstreamErrors = new Counter({
    name: 'flowergate_proxy_upstream_errors_total',
    help: 'Proxied requests that failed to reach the upstream or lost it mid-response.',
    labelNames: ['kind'],
    registers,
  });
  const storeDuration = new HotHistogram({
    name: 'flowergate_session_store_duration_seconds',
    help: 'Session store queries by engine and result.',
    labelNames: ['engine', 'result'],
    buckets: STORE_BUCKETS,
    registry,
  });
  const cacheLookups = new HotCounter({
    name: 'flowergate_decision_cache_total',
    help: 'Decision cache lookups: hit, miss, or coalesced onto a lookup already in flight.',
    labelNames: ['result'],
    registry,
  });
  const kubeReviews = new Counter({
    name: 'flowergate_kube_reviews_total',
    help: 'Kubernetes TokenReviews and SubjectAccessReviews by result and whether cached.',
    labelNames: ['kind', 'result', 'cached'],
    registers,
  });

  const decisionChild = lazy3((dialect, decision, reason) => decisions.cell(dialect, decision, reason));
  const decisionDurationChild = lazy2((dialect, cache) => decisionDuration.cell(dialect, cache));
  const proxyChild = lazy2((method, code) => proxyDuration.cell(method, code));
  const storeChild = lazy2((engine, result) => storeDuration.cell(engine, result));

  // Small fixed sets: bind now and start at 0, so rate() and increase() see the first event.
  const upstreamChildren = new Map(
    UPSTREAM_ERROR_KINDS.map((kind) => [kind, zeroed(upstreamErrors.labels(kind))]),
  );
  const cacheChildren = new Map(
    DECISION_CACHE_RESULTS.map((result) => [result, zeroed(cacheLookups.cell(result))]),
  );
  const kubeChild = lazy3((kind, result, cached) => kubeReviews.labels(kind, result, cached));
  for (const kind of KUBE_KIND_VALUES) {
    for (const result of KUBE_RESULT_VALUES) {
      zeroed(kubeChild(kind, result, 'true'));
      zeroed(kubeChild(kind, result, 'false'));
    }
  }

  return {
    decision(dialect, decision, reason, seconds, cache) {
      const d = boundDialect(dialect);
      decisionChild(d, boundDecision(decision), boundReason(reason)).inc();
      decisionDurationChild(d, boundCache(cache)).observe(finiteSeconds(seconds));
    },
    proxyRequest(method, code, seconds) {
      proxyChild(boundMethod(method), boundCode(code)).observe(finiteSeconds(seconds));
    },
    upstreamError(kind) {
      upstreamChildren.get(boundUpstreamErrorKind(kind))!.inc();
    },
    storeQuery(engine, result, seconds) {
      storeChild(boundEngine(engine), boundStoreResult(result)).observe(finiteSeconds(seconds));
    },
    decisionCache(result) {
      cacheChildren.get(boundDecisionCacheResult(result))!.inc();
    },
    kubeReview(kind, result, cached) {
      kubeChild(boundKubeKind(kind), boundKubeResult(result), cached === true ? 'true' : 'false').inc();
    },
  };
}

/** prom-client throws on NaN or Infinity; a broken clock must not fail a request. */
function finiteSeconds(seconds: number): number {
  return Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
}

function zeroed<C extends { inc(value?: number): void }>(child: C): C {
  child.inc(0);
  return child;
}

/**
 * Label children bound on first use and kept. Keys are already-bounded label values, so the maps
 * stay small; nested maps avoid building a composite key string on every call.
 */
function lazy2<C>(bind: (a: string, b: string) => C): (a: string, b: string) => C {
  const tree = new Map<string, Map<string, C>>();
  return (a, b) => {
    let level = tree.get(a);
    if (level === undefined) {
      level = new Map();
      tree.set(a, level);
    }
    let child = level.get(b);
    if (child === undefined) {
      child = bind(a, b);
      level.set(b, child);
    }
    return child;
  };
}

function lazy3<C>(bind: (a: string, b: string, c: string) => C): (a: string, b: string, c: string) => C {
  const tree = new Map<string, (b: string, c: string) => C>();
  return (a, b, c) => {
    let next = tree.get(a);
    if (next === undefined) {
      next = lazy2((b2, c2) => bind(a, b2, c2));
      tree.set(a, next);
    }
    return next(b, c);
  };
}
