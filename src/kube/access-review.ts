import type { V1SubjectAccessReviewSpec, V1SubjectAccessReviewStatus } from '@kubernetes/client-node';
import type { Config } from '../config/schema.ts';
import type { KubeReviewClient } from './kube-client.ts';
import type { KubeUser } from './token-review.ts';

export type ResourceAttributesConfig = Config['kubernetes']['resourceAttributes'];

export interface AccessRequest {
  method: string;
  /** The path as the client asked for it (a query string is ignored). */
  path: string;
}

export interface AccessDecision {
  allowed: boolean;
  /** The authorizer said no outright (a webhook's `denied`), rather than "no rule allows it". */
  denied: boolean;
  reason: string;
}

/** Asks the API server about one SubjectAccessReview spec. */
export type AccessReviewer = (spec: V1SubjectAccessReviewSpec) => Promise<AccessDecision>;

export function createAccessReviewer(deps: {
  client: Pick<KubeReviewClient, 'reviewAccess'>;
}): AccessReviewer {
  return async (spec) => decisionFromStatus(await deps.client.reviewAccess(spec));
}

const VERBS: Record<string, string> = {
  GET: 'get',
  HEAD: 'get',
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

/** The RBAC verb for an HTTP method, as kube-rbac-proxy maps it; other methods become their lower-case name. */
export function verbFor(method: string): string {
  const upper = method.toUpperCase();
  return VERBS[upper] ?? upper.toLowerCase();
}

/**
 * What we ask about a request. With `resourceAttributes` null, the path itself (nonResourceURLs in
 * RBAC, like kube-rbac-proxy's default). Otherwise a virtual resource, e.g. `flower.flowergate.io`,
 * whose subresource is the first path segment after the URL prefix: `/flower/api/workers` under
 * prefix `/flower` is subresource `api`, `/metrics` is `metrics`, `/` is none. RBAC subresources cannot
 * hold a `/`, so one segment is the finest grain; together with the verb it separates read-only
 * pages, `/metrics` and the REST API (whose writes are POSTs: `create`).
 */
export function accessReviewSpec(
  user: KubeUser,
  request: AccessRequest,
  options: { resourceAttributes: ResourceAttributesConfig; urlPrefix: string },
): V1SubjectAccessReviewSpec {
  const verb = verbFor(request.method);
  const path = normalizePath(request.path);
  const subject = {
    user: user.username,
    uid: user.uid,
    groups: [...user.groups],
    extra: sortedExtra(user.extra),
  };
  const attributes = options.resourceAttributes;
  if (!attributes) return { ...subject, nonResourceAttributes: { path, verb } };
  const subresource = attributes.subresourceFromPath ? firstSegmentAfter(path, options.urlPrefix) : '';
  return {
    ...subject,
    resourceAttributes: {
      verb,
      group: attributes.group,
      version: attributes.version,
      resource: attributes.resource,
      ...(subresource ? { subresource } : {}),
      ...(attributes.namespace ? { namespace: attributes.namespace } : {}),
      ...(attributes.name ? { name: attributes.name } : {}),
    },
  };
}

/**
 * The path an upstream behind nginx would serve: no query or fragment, repeated slashes merged, `.`
 * and `..` segments (also as `%2e`) resolved, never above the root. Authorizing `/metrics/../api`
 * as `/metrics` would let a proxy that normalizes forward `/api` on a `/metrics` grant.
 */
export function normalizePath(raw: string): string {
  const segments = (raw.split(/[?#]/, 1)[0] ?? '')
    .split('/')
    .map((s) => (/^(\.|%2e){1,2}$/i.test(s) ? s.replace(/%2e/gi, '.') : s));
  const out: string[] = [];
  for (const segment of segments) {
    if (segment === '..') out.pop();
    else if (segment !== '' && segment !== '.') out.push(segment);
  }
  // As RFC 3986 remove_dot_segments: `/a/b/..` and `/a/.` end in a slash.
  const last = segments[segments.length - 1];
  const trailing = out.length > 0 && (last === '' || last === '.' || last === '..');
  return `/${out.join('/')}${trailing ? '/' : ''}`;
}

function firstSegmentAfter(path: string, urlPrefix: string): string {
  const prefix = urlPrefix.replace(/\/+$/, '');
  const rest =
    prefix && (path === prefix || path.startsWith(`${prefix}/`)) ? path.slice(prefix.length) : path;
  return rest.split('/')[1] ?? '';
}

/** Stable key order, so equal users make byte-equal specs (and cache keys). */
function sortedExtra(extra: KubeUser['extra']): Record<string, string[]> {
  return Object.fromEntries(
    Object.keys(extra)
      .sort()
      .map((k) => [k, [...(extra[k] ?? [])]]),
  );
}

export function decisionFromStatus(status: V1SubjectAccessReviewStatus): AccessDecision {
  const allowed = status.allowed === true;
  const denied = !allowed && status.denied === true;
  // Fields are read defensively: the body is the server's JSON, whatever the type declarations say.
  const reason =
    (typeof status.reason === 'string' ? status.reason.trim() : '') ||
    (typeof status.evaluationError === 'string' && status.evaluationError
      ? `evaluation error: ${status.evaluationError}`
      : '') ||
    (allowed
      ? 'allowed by the Kubernetes authorizer'
      : denied
        ? 'denied by the Kubernetes authorizer'
        : 'no RBAC rule allows this request');
  return { allowed, denied, reason };
}
