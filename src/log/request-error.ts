import type { Logger } from './logger.ts';

/** Codes of a client that went away mid-response: a reset, a broken pipe, a stream closed early. */
const CLIENT_GONE = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * Logs an error a request ran into. A client that goes away is ordinary on a busy port, not a
 * failure of ours: debug, so the error log stays for real faults.
 */
export function logRequestError(logger: Logger, error: unknown): void {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && CLIENT_GONE.has(code)) logger.debug({ err: error }, 'client went away');
  else logger.error({ err: error }, 'request failed');
}
