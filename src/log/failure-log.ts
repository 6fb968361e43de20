import type { Logger } from './logger.ts';
import { createLogThrottle, type ThrottleTimers } from './throttle.ts';

/**
 * How often a repeated failure is summarised. The first failure of a kind in each interval is written
 * in full (with its stack); the others of that interval become one line counting them.
 */
export const FAILURE_LOG_INTERVAL_MS = 10_000;

export interface FailureLogOptions {
  readonly logger: Logger;
  /** Default FAILURE_LOG_INTERVAL_MS. */
  readonly intervalMs?: number;
  /** Milliseconds; injectable for tests. */
  readonly now?: () => number;
  readonly timers?: ThrottleTimers;
}

export type FailureLevel = 'error' | 'warn';

/**
 * Failures one request at a time runs into (the session store or the Kubernetes API down, the
 * upstream refusing): an outage repeats them for every request, thousands a second, and a log that
 * writes each one buries everything else and costs a write per request. The request is answered
 * (503, 502…) and counted in the metrics either way; only the log line is summarised.
 */
export interface FailureLog {
  /**
   * One failure of `kind` (a stable code: `STORE_UNAVAILABLE`, `upstream_connect`…), written with
   * `fields` (pass the error as `err`, for its stack) and a `failure` field naming the kind, or
   * counted for the interval's summary line.
   */
  record(kind: string, level: FailureLevel, fields: Record<string, unknown>, message: string): void;
  /** Writes the summaries still pending (at shutdown). */
  flush(): void;
}

/** Kinds come from error codes; anything unexpected shares one budget rather than growing the table. */
const KIND = /^[A-Za-z0-9_.:-]{1,64}$/;

export function createFailureLog(options: FailureLogOptions): FailureLog {
  const { logger } = options;
  const intervalMs = options.intervalMs ?? FAILURE_LOG_INTERVAL_MS;
  const levels = new Map<string, FailureLevel>();
  const throttle = createLogThrottle<string>({
    limit: 1,
    windowMs: intervalMs,
    ...(options.now ? { now: options.now } : {}),
    ...(options.timers ? { timers: options.timers } : {}),
    report: (kind, leftOut, since) =>
      logger[levels.get(kind) ?? 'error'](
        { failure: kind, leftOut, since: new Date(since).toISOString(), intervalMs },
        `${leftOut} more ${kind} failures were not logged (one is written in full every ${intervalMs / 1000} s); ` +
          'each was answered and counted in the metrics',
      ),
  });
  return {
    record(kind, level, fields, message) {
      const key = KIND.test(kind) ? kind : 'other';
      if (!throttle.admit(key)) return;
      if (levels.size < 64 || levels.has(key)) levels.set(key, level);
      logger[level]({ ...fields, failure: key }, message);
    },
    flush: () => throttle.flush(),
  };
}

/** The kind a failure is summarised under: its stable `code` (STORE_UNAVAILABLE, KUBE_UNAVAILABLE…), else `fallback`. */
export function failureKind(error: unknown, fallback: string): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : fallback;
}
