import { type FailureLog, failureKind } from './failure-log.ts';
import type { Logger } from './logger.ts';

/** Codes of a client that went away mid-response: a reset, a broken pipe, a stream closed early. */
const CLIENT_GONE = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * Logs an error a request ran into. A client that goes away is ordinary on a busy port, not a
 * failure of ours: debug, so the error log stays for real faults. Those go through the failure log,
 * keyed by their code (or class), so one that repeats on every request is summarised.
 */
export function logRequestError(logger: Logger, failures: FailureLog, error: unknown): void {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && CLIENT_GONE.has(code)) {
    logger.debug({ err: error }, 'client went away');
    return;
  }
  failures.record(
    failureKind(error, error instanceof Error ? error.name : 'unknown'),
    'error',
    { err: error },
    'request failed',
  );
}
