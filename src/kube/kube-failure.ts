import { FlowergateError } from '../errors.ts';

/** Which call failed, as the API server names the object. */
export type ReviewKind = 'TokenReview' | 'SubjectAccessReview';

export interface FailureContext {
  kind: ReviewKind;
  /** The API server URL, for the operator: never secret. */
  server: string;
  timeoutMs: number;
  /** A value that must not appear in the message (the reviewed bearer token). */
  secret?: string;
}

/** Our own deadline passed. */
export class ReviewTimeout extends Error {}

/** The server answered 2xx, but not with a review we can read (no status: an HTML page, an empty body). */
export class UnreadableReview extends Error {}

const MAX_DETAIL = 300;

/**
 * Turns whatever the client library threw into KUBE_UNAVAILABLE with a message an operator can act on.
 * The library's own errors are never passed on, not even as `cause`: ApiException's message embeds the
 * response body and headers, V8's JSON.parse messages quote the text they choke on, and a TokenReview
 * response echoes `spec.token`. Only fields we pick, scrubbed of the token, reach the message.
 */
export function kubeFailure(error: unknown, context: FailureContext): FlowergateError {
  // Every text that came from the server or the library is scrubbed inside describe().
  return new FlowergateError('KUBE_UNAVAILABLE', `${context.kind} failed: ${describe(error, context)}`, {
    status: 503,
  });
}

function describe(error: unknown, context: FailureContext): string {
  if (error instanceof ReviewTimeout) {
    return `the Kubernetes API server at ${context.server} did not answer within ${context.timeoutMs} ms`;
  }
  if (error instanceof UnreadableReview) return `the answer of ${context.server} is not a ${context.kind}`;
  if (error instanceof SyntaxError) return `the answer of ${context.server} is not valid JSON`;
  const code = httpCode(error);
  if (code !== undefined) return describeStatus(code, statusDetail(error, context.kind), context);
  const network = networkCause(error, context.secret);
  if (network) return `cannot reach the Kubernetes API server at ${context.server} (${network})`;
  return `unexpected error from the Kubernetes client (${errorName(error)})`;
}

function describeStatus(code: number, message: string | undefined, context: FailureContext): string {
  // Scrub before truncating, or a token cut in half would slip through.
  const said = message ? `: ${truncate(scrub(message, context.secret))}` : '';
  if (code === 401) {
    return `the Kubernetes API server rejected flowergate's own credentials (401); check its service-account token or kubeconfig user`;
  }
  if (code === 403) {
    const resource = context.kind === 'TokenReview' ? 'tokenreviews' : 'subjectaccessreviews';
    return `flowergate may not create ${resource} (403); bind its service account to the ClusterRole system:auth-delegator${said}`;
  }
  return `the Kubernetes API server answered ${code}${said}`;
}

/** ApiException carries `code` (the HTTP status) and `body` (undefined, or the raw text). */
function httpCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' && Number.isInteger(code) && code >= 100 && code <= 599 ? code : undefined;
}

/**
 * What a metav1.Status body says. For a TokenReview only its `reason` (a CamelCase word such as
 * InternalError): the free-text message of a decoding error may quote the request, and with it a
 * piece of the token that no scrubbing of the whole token would catch.
 */
function statusDetail(error: unknown, kind: ReviewKind): string | undefined {
  const body = (error as { body?: unknown }).body;
  if (typeof body !== 'string') return undefined;
  let parsed: { kind?: unknown; reason?: unknown; message?: unknown };
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined; // not a Status: say nothing rather than quote an unknown body
  }
  if (typeof parsed !== 'object' || parsed === null || parsed.kind !== 'Status') return undefined;
  if (kind === 'TokenReview') {
    return typeof parsed.reason === 'string' && /^[A-Za-z]{1,64}$/.test(parsed.reason)
      ? parsed.reason
      : undefined;
  }
  return typeof parsed.message === 'string' ? parsed.message : undefined;
}

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

/**
 * The connection broke under the request: a pooled keep-alive socket the server had just closed, or
 * a reset. Worth one more try, as client-go's webhook clients (kube-rbac-proxy's) retry connection
 * resets; a TokenReview or SubjectAccessReview changes nothing on the server, so a repeat is harmless.
 */
export function isConnectionReset(error: unknown): boolean {
  if (!(error instanceof Error) || !(error.cause instanceof Error)) return false;
  const code = (error.cause as { code?: unknown }).code;
  return typeof code === 'string' && RESET_CODES.has(code);
}

/** undici's fetch rejects with `TypeError('fetch failed')` whose cause names the socket or TLS error. */
function networkCause(error: unknown, secret: string | undefined): string | undefined {
  if (!(error instanceof Error) || !(error.cause instanceof Error)) return undefined;
  const cause = error.cause as Error & { code?: unknown };
  if (typeof cause.code === 'string') return cause.code;
  return truncate(scrub(cause.message, secret));
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

function truncate(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_DETAIL ? `${line.slice(0, MAX_DETAIL)}…` : line;
}

/** Removes the secret, also as it would look inside a JSON string. */
export function scrub(text: string, secret: string | undefined): string {
  if (!secret) return text;
  const escaped = JSON.stringify(secret).slice(1, -1);
  return text.split(secret).join('[REDACTED]').split(escaped).join('[REDACTED]');
}
