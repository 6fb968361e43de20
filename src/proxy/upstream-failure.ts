import { isBrowserNavigation, type OriginalRequest } from '../decision/request.ts';
import type { UpstreamErrorKind } from '../metrics/metrics.ts';
import { classifyUpstreamError } from '../metrics/upstream-error-kind.ts';
import type { Answer } from '../server/answer.ts';
import { errorPage } from '../server/pages.ts';

/** Why the upstream failed, as the client and the metrics see it. */
export interface UpstreamFailure {
  readonly kind: UpstreamErrorKind;
  /** 504 when the upstream was too slow, 502 when it refused, reset or broke the exchange. */
  readonly status: 502 | 504;
}

export function upstreamFailure(error: unknown): UpstreamFailure {
  const kind = classifyUpstreamError(error);
  return { kind, status: kind === 'timeout' ? 504 : 502 };
}

const DETAIL: Record<UpstreamErrorKind, string> = {
  connect: 'flowergate could not connect to the upstream (is Flower running?).',
  timeout: 'The upstream (Flower) did not answer in time.',
  reset: 'The upstream (Flower) closed the connection without answering.',
  other: 'The request to the upstream (Flower) failed.',
};

/** A page for browsers, JSON for API clients, like the decision's own answers. Never cached. */
export function failureAnswer(failure: UpstreamFailure, request: OriginalRequest): Answer {
  const title = failure.status === 504 ? 'Gateway Timeout' : 'Bad Gateway';
  const detail = DETAIL[failure.kind];
  const headers = { 'Cache-Control': 'no-store' };
  if (isBrowserNavigation(request)) {
    return {
      status: failure.status,
      headers: { ...headers, 'Content-Type': 'text/html; charset=utf-8' },
      body: errorPage(failure.status, title, `${detail} Try again in a moment.`),
    };
  }
  const error = failure.status === 504 ? 'gateway_timeout' : 'bad_gateway';
  return {
    status: failure.status,
    headers: { ...headers, 'Content-Type': 'application/json; charset=utf-8' },
    body: `${JSON.stringify({ error, kind: failure.kind, detail })}\n`,
  };
}
