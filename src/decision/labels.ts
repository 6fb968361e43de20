/** Bounded label values shared by the pipeline, metrics and audit logs. Never user names or keys. */

export type Dialect = 'nginx' | 'forward' | 'envoy' | 'proxy';

export type DecisionKind = 'allow' | 'unauthenticated' | 'forbidden' | 'error';

export const CACHE_RESULTS = ['hit', 'miss'] as const;
export type CacheLabel = (typeof CACHE_RESULTS)[number];
