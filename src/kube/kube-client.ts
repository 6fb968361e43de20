import {
  type ApiConstructor,
  type ApiType,
  AuthenticationV1Api,
  AuthorizationV1Api,
  type ConfigurationOptions,
  KubeConfig,
  Observable,
  type ObservableMiddleware,
  type V1SubjectAccessReviewSpec,
  type V1SubjectAccessReviewStatus,
  type V1TokenReviewSpec,
  type V1TokenReviewStatus,
} from '@kubernetes/client-node';
import { FlowergateError } from '../errors.ts';
import { createConnectionReuse, type Dispatcher } from './connection-reuse.ts';
import {
  isConnectionReset,
  kubeFailure,
  type ReviewKind,
  ReviewTimeout,
  UnreadableReview,
} from './kube-failure.ts';

/** The two calls flowergate makes. Both throw FlowergateError('KUBE_UNAVAILABLE') on any failure. */
export interface KubeReviewClient {
  reviewToken(spec: V1TokenReviewSpec): Promise<V1TokenReviewStatus>;
  reviewAccess(spec: V1SubjectAccessReviewSpec): Promise<V1SubjectAccessReviewStatus>;
  /** Closes pooled connections to the API server. */
  close(): Promise<void>;
}

export interface KubeClientOptions {
  kubeConfig: KubeConfig;
  /** Bound on one whole call: auth plugins, connect, TLS, request, response body. */
  timeoutMs: number;
  /** How long one connection pool is reused before a fresh one picks up rotated TLS files. */
  connectionMaxAgeMs?: number;
  now?: () => number;
}

const CONNECTION_MAX_AGE_MS = 60_000;

export function createKubeClient(options: KubeClientOptions): KubeReviewClient {
  const { kubeConfig, timeoutMs } = options;
  const authentication = makeClient(kubeConfig, AuthenticationV1Api);
  const authorization = makeClient(kubeConfig, AuthorizationV1Api);
  const server = kubeConfig.getCurrentCluster()?.server ?? '(no cluster)';
  const connections = createConnectionReuse({
    maxAgeMs: options.connectionMaxAgeMs ?? CONNECTION_MAX_AGE_MS,
    graceMs: timeoutMs,
    now: options.now ?? (() => performance.now()),
  });

  // client-node 2.x has no timeout option; a per-call middleware hands fetch our AbortSignal.
  const callOptions = (signal: AbortSignal, used: { dispatcher?: Dispatcher }): ConfigurationOptions => {
    const middleware: ObservableMiddleware = {
      pre: (context) => {
        context.setSignal(signal);
        used.dispatcher = connections.apply(context);
        return new Observable(Promise.resolve(context));
      },
      post: (response) => new Observable(Promise.resolve(response)),
    };
    // 'append' keeps the library's own User-Agent middleware.
    return { middleware: [middleware], middlewareMergeStrategy: 'append' };
  };

  async function call<T>(
    kind: ReviewKind,
    secret: string | undefined,
    run: (options: ConfigurationOptions) => Promise<{ status?: T }>,
  ): Promise<T> {
    const used: { dispatcher?: Dispatcher } = {};
    try {
      const review = await withDeadline(timeoutMs, async (signal) => {
        try {
          return await run(callOptions(signal, used));
        } catch (error) {
          // One retry, within the same deadline.
          if (signal.aborted || !isConnectionReset(error)) throw error;
          return run(callOptions(signal, used));
        }
      });
      // A 2xx that is not JSON (a proxy's HTML page) deserializes to an empty object, not an error.
      if (!review?.status || typeof review.status !== 'object') throw new UnreadableReview();
      return review.status;
    } catch (error) {
      if (error instanceof ReviewTimeout && used.dispatcher) connections.discard(used.dispatcher);
      throw kubeFailure(error, { kind, server, timeoutMs, secret });
    }
  }

  return {
    reviewToken: (spec) =>
      call('TokenReview', spec.token, (opts) =>
        authentication.createTokenReview(
          { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec } },
          opts,
        ),
      ),
    reviewAccess: (spec) =>
      call('SubjectAccessReview', undefined, (opts) =>
        authorization.createSubjectAccessReview(
          { body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec } },
          opts,
        ),
      ),
    close: () => connections.close(),
  };
}

function makeClient<T extends ApiType>(kubeConfig: KubeConfig, api: ApiConstructor<T>): T {
  try {
    return kubeConfig.makeApiClient(api);
  } catch (error) {
    // 'No active cluster!': the kubeconfig has no current context.
    throw new FlowergateError(
      'CONFIG_INVALID',
      `kubernetes: ${error instanceof Error ? error.message : error}`,
    );
  }
}

/**
 * Runs `run` with a signal that aborts after `ms`, and gives up at that moment whatever `run` does.
 * The abort reaches fetch, which destroys an established socket; the race covers what the signal
 * cannot (an exec credential plugin, reading a token file, a connection still being made: for that
 * one the caller discards the pool, see connection-reuse.ts).
 */
export async function withDeadline<T>(ms: number, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new ReviewTimeout());
      controller.abort();
    }, ms);
  });
  const work = run(controller.signal);
  // After a timeout nobody awaits `work` any more; its AbortError must not become an unhandled rejection.
  work.catch(() => {});
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The cluster as client-node finds it by default: KUBECONFIG, then ~/.kube/config, then the pod's
 * service account. Its last resort, http://localhost:8080, is refused here: it is never what an
 * operator who turned token auth on meant.
 */
export function loadKubeConfig(): KubeConfig {
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromDefault();
  } catch (error) {
    throw new FlowergateError(
      'CONFIG_INVALID',
      `kubernetes: cannot load the cluster configuration: ${loadError(error)}`,
    );
  }
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster)
    throw new FlowergateError('CONFIG_INVALID', 'kubernetes: the kubeconfig has no current context');
  if (cluster.name === 'cluster' && cluster.server === 'http://localhost:8080') {
    throw new FlowergateError(
      'CONFIG_INVALID',
      'kubernetes: no cluster found: set KUBECONFIG, or run in a pod with a service-account token (automountServiceAccountToken)',
    );
  }
  if (/\/\/undefined(:|$)/.test(cluster.server)) {
    throw new FlowergateError(
      'CONFIG_INVALID',
      'kubernetes: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set',
    );
  }
  return kubeConfig;
}

/** A kubeconfig holds credentials, and js-yaml quotes the offending lines: name the problem, not the text. */
function loadError(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error);
  const { code, path, reason, mark } = error as {
    code?: unknown;
    path?: unknown;
    reason?: unknown;
    mark?: { line?: unknown };
  };
  if (typeof code === 'string') return typeof path === 'string' ? `${code} ${path}` : code;
  if (typeof reason === 'string') {
    return typeof mark?.line === 'number'
      ? `invalid YAML (${reason}, line ${mark.line + 1})`
      : `invalid YAML (${reason})`;
  }
  return error instanceof Error ? error.name : 'unknown error';
}
