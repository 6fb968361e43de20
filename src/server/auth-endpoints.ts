import type { IncomingMessage, ServerResponse } from 'node:http';
import { type DecisionObserver, type Pipeline, type PipelineResult, refusal } from '../decision/pipeline.ts';
import type { OriginalRequest } from '../decision/request.ts';
import type { NetworkSet } from '../policy/networks.ts';
import { type Answer, type AnswerOptions, denialAnswer, identityFailed } from './answer.ts';
import { type Extract, isMalformed, type SubRequest } from './dialects/dialect.ts';
import { ENVOY_PREFIX, extractEnvoy } from './dialects/envoy.ts';
import { extractForward } from './dialects/forward.ts';
import { extractNginx } from './dialects/nginx.ts';

export interface AuthEndpointsDeps {
  readonly pipeline: Pipeline;
  readonly answers: AnswerOptions;
  readonly trustedProxies: NetworkSet | null;
  readonly observe: DecisionObserver;
  /** A request the endpoint could not answer (a bug, not a decision): logged, answered 500. */
  readonly onError: (error: unknown) => void;
}

/** Answers one request when it is for a forward-auth endpoint; false means "not mine". */
export type AuthEndpoints = (req: IncomingMessage, res: ServerResponse) => boolean;

const AUTH_PREFIX = '/_flowergate/auth/';
const NGINX = '/_flowergate/auth/nginx';
const FORWARD = '/_flowergate/auth/forward';

/**
 * The forward-auth endpoints on `node:http` directly. A proxy asks them once for every request it
 * serves (each static file, each dashboard poll), so they skip Koa's per-request context, router
 * and body handling: the decision is the only work (issue 8's profile: Koa alone costs a third of
 * the ceiling).
 */
export function createAuthEndpoints(deps: AuthEndpointsDeps): AuthEndpoints {
  const names = deps.answers.headerNames;

  const allow = (res: ServerResponse, identity: Record<string, string>): void => {
    // Every identity header, empty when unknown (a public path, no email, no groups): a proxy that copies
    // them then overwrites a client-sent copy. Caddy 2.6's copy_headers would otherwise send its
    // placeholder text upstream; nginx drops an empty value.
    res.writeHead(200, [
      names.user,
      identity[names.user] ?? '',
      names.email,
      identity[names.email] ?? '',
      names.groups,
      identity[names.groups] ?? '',
      'Cache-Control',
      'no-store',
      'Content-Length',
      '0',
    ]);
    res.end();
  };

  const answer = (
    res: ServerResponse,
    original: OriginalRequest,
    result: PipelineResult,
    started: number,
  ): void | Promise<void> => {
    deps.observe(original, result, (performance.now() - started) / 1000);
    if (result.decision !== 'allow') {
      write(res, denialAnswer(result, original, deps.answers));
      return;
    }
    const identity = deps.answers.identityHeaders(result);
    if (!(identity instanceof Promise)) return allow(res, identity);
    return identity.then(
      (headers) => allow(res, headers),
      (error: unknown) => {
        // The groups query failed: no identity, no allow (fail closed, as the proxy does).
        deps.onError(error);
        write(res, denialAnswer(identityFailed(result, error), original, deps.answers));
      },
    );
  };

  // No promise on a cached verdict: the proxy asks for every request it serves.
  const decide = (req: IncomingMessage, res: ServerResponse, extract: Extract): void | Promise<void> => {
    const started = performance.now();
    const original = extract(subRequest(req), deps.trustedProxies);
    if (isMalformed(original)) {
      // A sub-request that does not say completely and consistently what it is for: a forged copy of
      // another family's headers, or a proxy set up without them. Counted and audited like any refusal.
      const result = refusal('bad_request', original.request.uri);
      deps.observe(original.request, result, (performance.now() - started) / 1000);
      write(res, {
        status: 400,
        headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' },
        body: `${JSON.stringify({ decision: 'forbidden', reason: 'bad_request', detail: original.malformed })}\n`,
      });
      return;
    }
    const result = deps.pipeline(original);
    return result instanceof Promise
      ? result.then((r) => answer(res, original, r, started))
      : answer(res, original, result, started);
  };

  return (req, res) => {
    const url = req.url ?? '';
    if (!url.startsWith(AUTH_PREFIX)) return false;
    const path = pathOf(url);
    const extract =
      path === NGINX
        ? extractNginx
        : path === FORWARD
          ? extractForward
          : path === ENVOY_PREFIX || path.startsWith(`${ENVOY_PREFIX}/`)
            ? extractEnvoy
            : null;
    if (!extract) return false;
    try {
      const done = decide(req, res, extract);
      if (done) done.catch((error: unknown) => failClosed(res, error, deps.onError));
    } catch (error) {
      failClosed(res, error, deps.onError);
    }
    return true;
  };
}

/**
 * A request handler that threw (a bug, never a decision): logged, and answered 500 — or, when its
 * headers are already out, the connection is cut so the client cannot take a half answer for whole.
 */
export function failClosed(res: ServerResponse, error: unknown, onError: (error: unknown) => void): void {
  onError(error);
  if (!res.headersSent) write(res, INTERNAL_ERROR);
  else res.destroy();
}

const INTERNAL_ERROR: Answer = {
  status: 500,
  headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' },
  body: `${JSON.stringify({ decision: 'error', reason: 'internal_error' })}\n`,
};

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

export function subRequest(req: IncomingMessage): SubRequest {
  const socket = req.socket;
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    headers: req.headers,
    peer: socket.remoteAddress,
    encrypted: 'encrypted' in socket && Boolean(socket.encrypted),
  };
}

/** Writes an answer in one go; HEAD gets the headers only, as Node does for any response. */
export function write(res: ServerResponse, answer: Answer): void {
  const headers = answer.headers;
  res.statusCode = answer.status;
  for (const name in headers) res.setHeader(name, headers[name]!);
  res.setHeader('Content-Length', Buffer.byteLength(answer.body));
  res.end(answer.body);
}
