import type { KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../config/schema.ts';
import {
  type AccessDecision,
  type AccessRequest,
  accessReviewSpec,
  createAccessReviewer,
} from './access-review.ts';
import { MAX_BEARER_TOKEN_LENGTH } from './bearer-token.ts';
import { createKubeClient, type KubeReviewClient, loadKubeConfig } from './kube-client.ts';
import { createReviewCache } from './review-cache.ts';
import { createTokenReviewer, type KubeUser } from './token-review.ts';

export type { AccessDecision, AccessRequest } from './access-review.ts';
export { bearerToken } from './bearer-token.ts';
export type { KubeUser } from './token-review.ts';

export type KubeReviewResult = 'allowed' | 'denied' | 'authenticated' | 'unauthenticated' | 'error';

export interface KubeReviewMetrics {
  /** `cached`: answered without a call of its own (a cache hit, or sharing a call in flight). */
  kubeReview(kind: 'token' | 'access', result: KubeReviewResult, cached: boolean): void;
}

export interface KubeAuthenticator {
  /** The token's user, or null when the API server does not accept it (for our audiences). */
  authenticate(token: string): Promise<KubeUser | null>;
  /** What RBAC says about this user making this request. */
  authorize(user: KubeUser, request: AccessRequest): Promise<AccessDecision>;
  /** Closes pooled connections to the API server. */
  close(): Promise<void>;
}

export interface KubeAuthenticatorDeps {
  config: Config['kubernetes'];
  /** Default: found as client-node does (KUBECONFIG, ~/.kube/config, in-cluster). */
  kubeConfig?: KubeConfig;
  /** `proxy.urlPrefix`: stripped before the path's first segment becomes the subresource. */
  urlPrefix?: string;
  metrics?: KubeReviewMetrics;
  /** Cache clock, milliseconds, monotonic. */
  now?: () => number;
  /** Replaces the HTTP client (tests). */
  client?: KubeReviewClient;
}

/**
 * Service-account bearer tokens, checked as kube-rbac-proxy does: a cached TokenReview, then a
 * cached SubjectAccessReview. Expected outcomes (unknown token, RBAC says no) are values; a failure
 * to get an answer throws FlowergateError('KUBE_UNAVAILABLE'), which callers answer with 503, never
 * an allow. Building it loads the cluster configuration; only do so when `tokenAuth` is on.
 */
export function createKubeAuthenticator(deps: KubeAuthenticatorDeps): KubeAuthenticator {
  const { config, metrics } = deps;
  const client =
    deps.client ??
    createKubeClient({ kubeConfig: deps.kubeConfig ?? loadKubeConfig(), timeoutMs: config.timeout * 1000 });
  const reviewToken = createTokenReviewer({ client, audiences: config.audiences });
  const reviewAccess = createAccessReviewer({ client });
  const tokens = createReviewCache<KubeUser | null>({
    maxEntries: config.cacheMaxEntries,
    allowTtl: config.tokenReviewAllowTtl,
    denyTtl: config.tokenReviewDenyTtl,
    isAllow: (user) => user !== null,
    now: deps.now,
  });
  const access = createReviewCache<AccessDecision>({
    maxEntries: config.cacheMaxEntries,
    allowTtl: config.accessReviewAllowTtl,
    denyTtl: config.accessReviewDenyTtl,
    isAllow: (decision) => decision.allowed,
    now: deps.now,
  });
  const urlPrefix = deps.urlPrefix ?? '';

  return {
    async authenticate(token) {
      // bearerToken() already enforces this; a direct caller must not get an unbounded review either.
      if (token === '' || token.length > MAX_BEARER_TOKEN_LENGTH) return null;
      try {
        const { value, source } = await tokens.get(token, () => reviewToken(token).then(freezeUser));
        metrics?.kubeReview('token', value ? 'authenticated' : 'unauthenticated', source !== 'miss');
        return value;
      } catch (error) {
        metrics?.kubeReview('token', 'error', false);
        throw error;
      }
    },
    async authorize(user, request) {
      const spec = accessReviewSpec(user, request, {
        resourceAttributes: config.resourceAttributes,
        urlPrefix,
      });
      try {
        const { value, source } = await access.get(JSON.stringify(spec), () => reviewAccess(spec));
        metrics?.kubeReview('access', value.allowed ? 'allowed' : 'denied', source !== 'miss');
        return { ...value };
      } catch (error) {
        metrics?.kubeReview('access', 'error', false);
        throw error;
      }
    },
    close: () => client.close(),
  };
}

/** Cached users are shared between requests: nobody may change one in place. */
function freezeUser(user: KubeUser | null): KubeUser | null {
  if (!user) return null;
  Object.freeze(user.groups);
  for (const values of Object.values(user.extra)) Object.freeze(values);
  Object.freeze(user.extra);
  return Object.freeze(user);
}
