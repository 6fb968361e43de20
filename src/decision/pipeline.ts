import { hash } from 'node:crypto';
import type { TtlCache } from '../cache/ttl-cache.ts';
import type { SessionResolver } from '../django/resolve-session.ts';
import type { SessionVerdict } from '../django/verdict.ts';
import { isFlowergateError } from '../errors.ts';
import type { HostCheck } from '../policy/allowed-hosts.ts';
import type { Match, Policy } from '../policy/policy.ts';
import { flowerPath, judgedPath } from '../policy/request-path.ts';
import type { Principal } from '../policy/requirement.ts';
import type { Reason } from '../reasons.ts';
import { decide, type Outcome } from './decide.ts';
import type { CacheLabel, DecisionKind } from './labels.ts';
import type { OriginalRequest } from './request.ts';

export interface PipelineResult {
  readonly decision: DecisionKind;
  readonly reason: Reason;
  readonly principal: Principal | null;
  /** The rule that decided; null when the path was refused before any rule could match. */
  readonly match: Match | null;
  readonly cache: CacheLabel;
  /** Flower's path the rules saw (the URL prefix removed), or the request's own when it was refused. */
  readonly path: string;
  readonly error?: Error;
  /** Who the session names when it is refused as `inactive` or `hash_mismatch` (for the audit log). */
  readonly knownUser?: string;
}

/** Service-account authentication, present only when Kubernetes token auth is on. */
export interface KubeGate {
  bearerToken(authorization: string | undefined): string | null;
  authenticate(token: string): Promise<{ username: string; uid?: string; groups: readonly string[] } | null>;
  authorize(
    user: { username: string; uid?: string; groups: readonly string[] },
    request: { method: string; path: string },
  ): Promise<{ allowed: boolean; reason: string }>;
}

export interface PipelineDeps {
  readonly resolver: SessionResolver;
  readonly policy: Policy;
  readonly verdictCache: TtlCache<SessionVerdict> | null;
  readonly csrfGuard: (request: OriginalRequest) => boolean;
  readonly kube: KubeGate | null;
  readonly now: () => number;
  /** Flower's `--url_prefix` ('' for none): removed before rules match; a path outside it is refused. */
  readonly urlPrefix?: string;
  /** FLOWERGATE_ALLOWED_HOSTS; null or absent: every host. */
  readonly hostCheck?: HostCheck | null;
  readonly onCacheResult?: (result: 'hit' | 'miss' | 'coalesced') => void;
}

/** A value when nothing had to wait (a cached verdict), else a promise; never rejects. */
export type Pipeline = (request: OriginalRequest) => PipelineResult | Promise<PipelineResult>;

/** Told of every decision once, with how long it took: metrics and the audit line. */
export type DecisionObserver = (request: OriginalRequest, result: PipelineResult, seconds: number) => void;

/**
 * A request refused before any rule or session is looked at: a host outside the allowed hosts, a
 * path Tornado could route differently from how it would be judged, a path outside Flower's prefix.
 */
export const refusal = (reason: Reason, path: string): PipelineResult => ({
  decision: 'forbidden',
  reason,
  principal: null,
  match: null,
  cache: 'miss',
  path,
});

/**
 * The one decision every dialect and the proxy share: check the host and the path, match a rule
 * against Flower's path, find out who is asking (Django session, else a service-account token),
 * apply the rule, guard CSRF. Failures become `error` (503), never an allow.
 */
export function createPipeline(deps: PipelineDeps): Pipeline {
  const prefix = deps.urlPrefix ?? '';
  const hostCheck = deps.hostCheck ?? null;
  type Found = { verdict: SessionVerdict; cache: CacheLabel };
  const verdictFor = (cookie: string | undefined): Found | Promise<Found> => {
    const known = deps.resolver.precheck(cookie);
    if (known) return { verdict: known, cache: 'miss' };
    const cache = deps.verdictCache;
    if (!cache || !cookie)
      return deps.resolver.resolve(cookie, deps.now()).then((verdict) => ({ verdict, cache: 'miss' }));
    // Keyed by a hash, so the cache never holds a usable session key. (One-shot hash(): half the cost
    // of createHash() on this per-request path.)
    const key = hash('sha256', cookie, 'base64');
    const cached = cache.peek(key);
    if (cached !== undefined) {
      // A hit answers without a promise: it is nearly every request a busy dashboard sends.
      deps.onCacheResult?.('hit');
      return { verdict: cached, cache: 'hit' };
    }
    return cache
      .get(key, () => deps.resolver.resolve(cookie, deps.now()))
      .then(({ value, result }) => {
        deps.onCacheResult?.(result);
        return { verdict: value, cache: result === 'hit' ? 'hit' : 'miss' };
      });
  };

  const failed = (error: unknown, match: Match, cache: CacheLabel, path: string): PipelineResult => {
    const reason: Reason = isFlowergateError(error)
      ? error.code === 'KUBE_UNAVAILABLE'
        ? 'kube_unavailable'
        : 'store_unavailable'
      : 'internal_error';
    return { decision: 'error', reason, principal: null, match, cache, path, error: error as Error };
  };

  const withKube = async (
    request: OriginalRequest,
    match: Match,
    path: string,
    cache: CacheLabel,
    kube: KubeGate,
    token: string,
  ): Promise<PipelineResult> => {
    // RBAC sees the request's path as sent (its own settings strip the prefix for subresources).
    const requestPath = judgedPath(request.uri) ?? path;
    const user = await kube.authenticate(token);
    if (!user) return judge(request, match, path, cache, null, 'kube_token_invalid');
    const principal: Principal = { kind: 'kube', username: user.username, groups: user.groups };
    // Rules that name service accounts or groups decide directly; anything else is RBAC's call.
    if (match.requirement.kind === 'serviceaccount' || match.requirement.kind === 'kube-group') {
      return judge(request, match, path, cache, principal, 'ok');
    }
    const review = await kube.authorize(user, { method: request.method, path: requestPath });
    return {
      decision: review.allowed ? 'allow' : 'forbidden',
      reason: review.allowed ? 'ok' : 'kube_access_denied',
      principal,
      match,
      cache,
      path,
    };
  };

  const judge = (
    request: OriginalRequest,
    match: Match,
    path: string,
    cache: CacheLabel,
    principal: Principal | null,
    anonymousReason: Reason,
  ): PipelineResult | Promise<PipelineResult> => {
    const finish = (outcome: Outcome): PipelineResult =>
      outcome.decision === 'allow' && principal?.kind === 'django' && !deps.csrfGuard(request)
        ? { decision: 'forbidden', reason: 'csrf_origin_mismatch', principal, match, cache, path }
        : { decision: outcome.decision, reason: outcome.reason, principal, match, cache, path };
    const outcome = decide(principal, anonymousReason, match);
    return outcome instanceof Promise ? outcome.then(finish) : finish(outcome);
  };

  const afterVerdict = (
    request: OriginalRequest,
    match: Match,
    path: string,
    found: Found,
  ): PipelineResult | Promise<PipelineResult> => {
    const verdict = found.verdict;
    if (verdict.kind === 'user') {
      return judge(request, match, path, found.cache, { kind: 'django', identity: verdict.identity }, 'ok');
    }
    const token = deps.kube ? deps.kube.bearerToken(request.authorization) : null;
    if (token && deps.kube) return withKube(request, match, path, found.cache, deps.kube, token);
    const judged = judge(request, match, path, found.cache, null, verdict.reason);
    const knownUser = verdict.username;
    if (knownUser === undefined) return judged;
    const named = (result: PipelineResult): PipelineResult => ({ ...result, knownUser });
    return judged instanceof Promise ? judged.then(named) : named(judged);
  };

  // Synchronous end to end on a cache hit (the common case: a dashboard's polls and static files);
  // a promise only where the store, the cache's first lookup or Kubernetes is asked.
  return (request) => {
    // Before any session lookup: refusals cost no query and cannot be told apart by timing.
    if (hostCheck !== null && !hostCheck(request.host)) return refusal('disallowed_host', request.uri);
    const judged = judgedPath(request.uri);
    if (judged === null) return refusal('ambiguous_path', request.uri);
    const path = flowerPath(judged, prefix);
    if (path === null) return refusal('outside_prefix', judged);
    const match = deps.policy.match({
      method: request.method,
      host: request.host,
      path,
      client: request.client,
    });
    if (match.requirement.kind === 'public') {
      return { decision: 'allow', reason: 'public', principal: null, match, cache: 'miss', path };
    }
    let cache: CacheLabel = 'miss';
    try {
      const found = verdictFor(deps.resolver.sessionCookie(request.cookie));
      const after = (f: Found) => {
        cache = f.cache;
        return afterVerdict(request, match, path, f);
      };
      const result = found instanceof Promise ? found.then(after) : after(found);
      return result instanceof Promise
        ? result.catch((error: unknown) => failed(error, match, cache, path))
        : result;
    } catch (error) {
      return failed(error, match, cache, path);
    }
  };
}
