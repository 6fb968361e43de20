import { STATUS_CODES } from 'node:http';
import type { DecisionKind, Dialect } from '../decision/labels.ts';
import type { Reason } from '../reasons.ts';

/**
 * Every label value that reaches the registry passes through one of these functions, so a value
 * that escaped the type system (a header, a cast, a bug) maps to a fixed fallback instead of
 * minting a new series. Outcome labels fall back to their error value, so the bug shows in alerts;
 * identity labels fall back to `other`.
 */

export type ProxyMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS' | 'OTHER';
export type UpstreamErrorKind = 'connect' | 'timeout' | 'reset' | 'other';
/** Where session rows live: the database kind, or the file engine's directory. */
export type StoreEngine = 'sqlite' | 'postgres' | 'mysql' | 'file';
export type StoreResult = 'ok' | 'miss' | 'error' | 'timeout';
export type DecisionCacheResult = 'hit' | 'miss' | 'coalesced';
export type KubeReviewKind = 'token' | 'access';
export type KubeReviewResult = 'allow' | 'deny' | 'error';

// Records keyed by the union make the compiler reject a list that misses a value.
const DIALECTS: Record<Dialect, true> = { nginx: true, forward: true, envoy: true, proxy: true };
const DECISIONS: Record<DecisionKind, true> = {
  allow: true,
  unauthenticated: true,
  forbidden: true,
  error: true,
};
const REASONS: Record<Reason, true> = {
  ok: true,
  public: true,
  no_cookie: true,
  invalid_session_key: true,
  bad_signature: true,
  expired: true,
  no_session: true,
  bad_payload: true,
  not_logged_in: true,
  bad_user_id: true,
  no_backend: true,
  backend_not_allowed: true,
  unknown_user: true,
  inactive: true,
  hash_mismatch: true,
  not_superuser: true,
  not_staff: true,
  not_in_group: true,
  missing_permission: true,
  requires_service_account: true,
  csrf_origin_mismatch: true,
  bad_request: true,
  ambiguous_path: true,
  disallowed_host: true,
  outside_prefix: true,
  kube_token_invalid: true,
  kube_access_denied: true,
  kube_not_allowed: true,
  store_unavailable: true,
  kube_unavailable: true,
  internal_error: true,
};
const ENGINES: Record<StoreEngine, true> = { sqlite: true, postgres: true, mysql: true, file: true };
const STORE_RESULTS: Record<StoreResult, true> = { ok: true, miss: true, error: true, timeout: true };
const KUBE_KINDS: Record<KubeReviewKind, true> = { token: true, access: true };
const KUBE_RESULTS: Record<KubeReviewResult, true> = { allow: true, deny: true, error: true };

export const DIALECT_VALUES = Object.keys(DIALECTS) as Dialect[];
export const DECISION_VALUES = Object.keys(DECISIONS) as DecisionKind[];
export const REASON_VALUES = Object.keys(REASONS) as Reason[];
export const ENGINE_VALUES = Object.keys(ENGINES) as StoreEngine[];
export const STORE_RESULT_VALUES = Object.keys(STORE_RESULTS) as StoreResult[];
export const KUBE_KIND_VALUES = Object.keys(KUBE_KINDS) as KubeReviewKind[];
export const KUBE_RESULT_VALUES = Object.keys(KUBE_RESULTS) as KubeReviewResult[];
export const UPSTREAM_ERROR_KINDS: readonly UpstreamErrorKind[] = ['connect', 'timeout', 'reset', 'other'];
export const DECISION_CACHE_RESULTS: readonly DecisionCacheResult[] = ['hit', 'miss', 'coalesced'];

const has = Object.hasOwn;

export function boundDialect(value: string): string {
  return has(DIALECTS, value) ? value : 'other';
}
export function boundDecision(value: string): string {
  return has(DECISIONS, value) ? value : 'error';
}
export function boundReason(value: string): string {
  return has(REASONS, value) ? value : 'internal_error';
}
export function boundCache(value: string): 'hit' | 'miss' {
  return value === 'hit' ? 'hit' : 'miss';
}
export function boundEngine(value: string): string {
  return has(ENGINES, value) ? value : 'other';
}
export function boundStoreResult(value: string): string {
  return has(STORE_RESULTS, value) ? value : 'error';
}
export function boundKubeKind(value: string): string {
  return has(KUBE_KINDS, value) ? value : 'other';
}
export function boundKubeResult(value: string): string {
  return has(KUBE_RESULTS, value) ? value : 'error';
}
export function boundUpstreamErrorKind(value: string): UpstreamErrorKind {
  return value === 'connect' || value === 'timeout' || value === 'reset' ? value : 'other';
}
export function boundDecisionCacheResult(value: string): DecisionCacheResult {
  return value === 'hit' || value === 'coalesced' ? value : 'miss';
}

/** The method comes straight from the client, so only the usual ones get their own series. */
export function boundMethod(method: string): ProxyMethod {
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'POST':
    case 'PUT':
    case 'PATCH':
    case 'DELETE':
    case 'OPTIONS':
      return method;
    default:
      return 'OTHER';
  }
}

// Built once so the hot path indexes an array instead of formatting a string per request.
const CODE_LABELS: readonly string[] = Array.from({ length: 600 }, (_, code) => {
  if (code < 100) return 'other';
  return STATUS_CODES[code] ? String(code) : `${Math.floor(code / 100)}xx`;
});

/** Registered status codes keep their number; unregistered ones collapse to their class (`4xx`). */
export function boundCode(code: number): string {
  return Number.isInteger(code) && code >= 0 && code < 600 ? CODE_LABELS[code]! : 'other';
}
