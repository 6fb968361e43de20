import type { Config } from '../config/schema.ts';
import type { PipelineResult } from '../decision/pipeline.ts';
import { isBrowserNavigation, type OriginalRequest, originalUrl } from '../decision/request.ts';
import type { Reason } from '../reasons.ts';
import { encodeHeaders } from './header-value.ts';
import { errorPage, forbiddenPage, signInPage } from './pages.ts';

/** An HTTP answer as data, so Koa routes and the raw proxy path render it the same way. */
export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface AnswerOptions {
  readonly loginUrl: string | null;
  /** Linked from the 403 page. */
  readonly logoutUrl: string | null;
  /** Service-account tokens are accepted: a 401 names the Bearer scheme. Otherwise no challenge is offered. */
  readonly bearerChallenge: boolean;
  readonly headerNames: Config['headers'];
  readonly identityHeaders: IdentityHeaders;
  /** Checks a `next` target; null means it may not be used. */
  readonly redirectCheck: (target: string, currentHost: string) => string | null;
}

const NO_STORE = { 'Cache-Control': 'no-store' };
const json = (status: number, body: object, extra: Record<string, string> = {}): Answer => ({
  status,
  headers: { 'Content-Type': 'application/json; charset=utf-8', ...NO_STORE, ...extra },
  body: `${JSON.stringify(body)}\n`,
});
const html = (status: number, body: string, extra: Record<string, string> = {}): Answer => ({
  status,
  headers: { 'Content-Type': 'text/html; charset=utf-8', ...NO_STORE, ...extra },
  body,
});

/** The identity headers for an allowed request: a value once known, a promise while groups are read. */
export type IdentityHeaders = (
  result: PipelineResult,
) => Record<string, string> | Promise<Record<string, string>>;

const NO_IDENTITY: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * Identity headers for the upstream on allow, encoded for the wire (UTF-8 bytes, see header-value.ts);
 * empty values are left out, and so are values that cannot be sent (a control character), with a warning.
 * A Django identity's headers are worked out once: the verdict cache hands the same identity to every
 * request of its lifetime, and from the second request on they are answered without a promise.
 */
export function createIdentityHeaders(names: Config['headers']): IdentityHeaders {
  const known = new WeakMap<object, Record<string, string> | Promise<Record<string, string>>>();
  return (result) => {
    const principal = result.principal;
    if (!principal) return NO_IDENTITY;
    if (principal.kind === 'kube') {
      const headers: Record<string, string> = { [names.user]: principal.username };
      if (principal.groups.length) headers[names.groups] = principal.groups.join(',');
      return encodeHeaders(headers, () => `service account ${JSON.stringify(principal.username)}`);
    }
    const identity = principal.identity;
    const memo = known.get(identity);
    if (memo) return memo;
    const pending = identity.groups().then((groups) => {
      const plain: Record<string, string> = { [names.user]: identity.username };
      if (identity.email) plain[names.email] = identity.email;
      if (groups.length) plain[names.groups] = groups.join(',');
      const encoded = encodeHeaders(
        plain,
        () => `Django user ${JSON.stringify(identity.username)} (id ${identity.userId})`,
      );
      known.set(identity, encoded);
      return encoded;
    });
    known.set(identity, pending);
    // A failed groups query is not remembered: the next request asks again (and fails closed meanwhile).
    pending.catch(() => known.delete(identity));
    return pending;
  };
}

/** An allow whose identity headers could not be worked out (the groups query failed): a 503. */
export function identityFailed(result: PipelineResult, error: unknown): PipelineResult {
  return { ...result, decision: 'error', reason: 'store_unavailable', error: error as Error };
}

/**
 * The status of a request refused before any rule could judge it, or 0. These are answered as JSON
 * even to a browser: a person cannot fix them by signing in. (nginx's auth_request turns a 400 or
 * 404 into a 500 for the client: a malformed sub-request is a misconfiguration, and still no allow.)
 */
export function refusalStatus(reason: Reason): number {
  switch (reason) {
    case 'bad_request':
    case 'ambiguous_path':
    case 'disallowed_host':
      return 400;
    case 'outside_prefix':
      return 404;
    default:
      return 0;
  }
}

/**
 * The "not allowed" answer. nginx understands only 401/403 (anything else is its 500), so it gets
 * those bare; its `auth-signin` does the redirect. The forward and envoy dialects and the proxy
 * redirect browser navigations to the Django login, answer API clients with JSON, and show a 403
 * page naming the user and the rule. Failures are 503, never an allow.
 */
export function denialAnswer(
  result: PipelineResult,
  request: OriginalRequest,
  options: AnswerOptions,
): Answer {
  const browser = isBrowserNavigation(request);
  const body = { decision: result.decision, reason: result.reason, rule: result.match?.rule ?? null };
  const refused = refusalStatus(result.reason);
  if (refused !== 0) return json(refused, body);
  if (result.decision === 'error') {
    const detail = 'The Django session store did not answer; try again shortly. (flowergate fails closed.)';
    return request.dialect !== 'nginx' && browser
      ? html(503, errorPage(503, 'Service Unavailable', detail), { 'Retry-After': '5' })
      : json(503, body, { 'Retry-After': '5' });
  }
  if (result.decision === 'unauthenticated') {
    const challenge: Record<string, string> = options.bearerChallenge
      ? { 'WWW-Authenticate': 'Bearer realm="flowergate"' }
      : {};
    if (request.dialect === 'nginx') return json(401, body, challenge);
    if (browser && options.loginUrl) {
      const location = loginWithNext(options.loginUrl, request, options);
      return { status: 302, headers: { Location: location, ...NO_STORE }, body: '' };
    }
    return browser ? html(401, signInPage(options.loginUrl), challenge) : json(401, body, challenge);
  }
  // forbidden
  if (request.dialect !== 'nginx' && browser) {
    const who =
      result.principal?.kind === 'django'
        ? result.principal.identity.username
        : result.principal?.kind === 'kube'
          ? result.principal.username
          : 'an unknown user';
    return html(
      403,
      forbiddenPage(
        who,
        result.match?.rule ?? 'path check',
        result.match?.requirementText ?? 'a canonical path',
        result.reason,
        {
          signIn: options.loginUrl ? loginWithNext(options.loginUrl, request, options) : null,
          logout: options.logoutUrl,
        },
      ),
    );
  }
  // XHR and API clients: the same refusal as data, plus a sentence Flower's alert can show as it is.
  const needs = result.match ? ` (rule “${result.match.rule}” needs ${result.match.requirementText})` : '';
  return json(403, { ...body, message: `flowergate refused this request: ${result.reason}${needs}` });
}

/** The Django login, with the original URL as `next` when it is a safe target. */
function loginWithNext(loginUrl: string, request: OriginalRequest, options: AnswerOptions): string {
  const next = options.redirectCheck(originalUrl(request), request.host);
  const login = new URL(loginUrl);
  if (next) login.searchParams.set('next', next);
  return login.href;
}
