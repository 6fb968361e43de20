import type { KubeConfig } from '@kubernetes/client-node';
import { type Config, effectiveUrlPrefix } from '../config/schema.ts';
import type { KubeGate } from '../decision/pipeline.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { bearerToken, createKubeAuthenticator, type KubeReviewResult } from './kube-auth.ts';

const METRIC_RESULT: Record<KubeReviewResult, 'allow' | 'deny' | 'error'> = {
  allowed: 'allow',
  authenticated: 'allow',
  denied: 'deny',
  unauthenticated: 'deny',
  error: 'error',
};

/** Service-account authentication as the pipeline sees it, counted in flowergate_kube_reviews_total. */
export function createKubeGate(deps: {
  config: Config;
  metrics: Metrics;
  kubeConfig?: KubeConfig;
}): KubeGate & { close(): Promise<void> } {
  const authenticator = createKubeAuthenticator({
    config: deps.config.kubernetes,
    urlPrefix: effectiveUrlPrefix(deps.config),
    metrics: {
      kubeReview: (kind, result, cached) => deps.metrics.kubeReview(kind, METRIC_RESULT[result], cached),
    },
    ...(deps.kubeConfig ? { kubeConfig: deps.kubeConfig } : {}),
  });
  return {
    bearerToken,
    authenticate: (token) => authenticator.authenticate(token),
    authorize: (user, request) =>
      authenticator.authorize(user as Parameters<typeof authenticator.authorize>[0], request),
    close: () => authenticator.close(),
  };
}
