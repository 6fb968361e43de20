import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { type DecisionObserver, type Pipeline, refusal } from '../decision/pipeline.ts';
import type { OriginalRequest } from '../decision/request.ts';
import { type FailureLog, failureKind } from '../log/failure-log.ts';
import type { NetworkSet } from '../policy/networks.ts';
import { type Answer, type AnswerOptions, denialAnswer, identityFailed } from '../server/answer.ts';
import { isMalformed } from '../server/dialects/dialect.ts';
import { type Forwarded, proxyRequest } from './original-request.ts';
import type { RequestHygieneFn } from './request-headers.ts';

export interface GateDeps {
  readonly pipeline: Pipeline;
  readonly answers: AnswerOptions;
  readonly observe: DecisionObserver;
  readonly trustedProxies: NetworkSet | null;
  readonly requestHygiene: RequestHygieneFn;
  readonly failures: FailureLog;
}

/** Either flowergate answers the request itself, or it goes upstream with these headers. */
export type GateOutcome =
  | { readonly kind: 'answer'; readonly answer: Answer }
  | {
      readonly kind: 'proxy';
      readonly original: OriginalRequest;
      readonly forwarded: Forwarded;
      readonly headers: OutgoingHttpHeaders;
    };

const badRequest = (detail: string): GateOutcome => ({
  kind: 'answer',
  answer: {
    status: 400,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' },
    body: `${JSON.stringify({ decision: 'forbidden', reason: 'bad_request', detail })}\n`,
  },
});

/**
 * The decision for a proxied request or WebSocket handshake: the same pipeline, policy and answers as
 * the forward-auth endpoints (dialect `proxy`), observed once; on allow, the cleaned upstream headers.
 */
export function createGate(
  deps: GateDeps,
): (req: IncomingMessage, websocket: boolean) => Promise<GateOutcome> {
  return async (req, websocket) => {
    const started = performance.now();
    const parsed = proxyRequest(req, deps.trustedProxies, websocket);
    if (isMalformed(parsed)) {
      // Counted and audited like the forward-auth endpoints' malformed sub-requests.
      deps.observe(
        parsed.request,
        refusal('bad_request', parsed.request.uri),
        (performance.now() - started) / 1000,
      );
      return badRequest(parsed.malformed);
    }
    const { original, forwarded } = parsed;
    const result = await deps.pipeline(original);
    deps.observe(original, result, (performance.now() - started) / 1000);
    if (result.decision !== 'allow')
      return { kind: 'answer', answer: denialAnswer(result, original, deps.answers) };

    let identity: Record<string, string>;
    try {
      identity = await deps.answers.identityHeaders(result);
    } catch (error) {
      // The groups query failed: without the identity the upstream must not be reached (fail closed).
      deps.failures.record(
        failureKind(error, 'identity_lookup'),
        'error',
        { err: error, requestId: original.requestId },
        'identity lookup failed; answered 503',
      );
      return { kind: 'answer', answer: denialAnswer(identityFailed(result, error), original, deps.answers) };
    }
    const headers = deps.requestHygiene(req.headers, {
      method: original.method,
      forwarded,
      client: original.client,
      identity,
      dropAuthorization: result.principal?.kind === 'kube',
      websocket,
    });
    return { kind: 'proxy', original, forwarded, headers };
  };
}
