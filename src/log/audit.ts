import type { CacheLabel, DecisionKind, Dialect } from '../decision/labels.ts';
import type { Reason } from '../reasons.ts';
import { FAILURE_LOG_INTERVAL_MS } from './failure-log.ts';
import type { Logger } from './logger.ts';
import { createLogThrottle, type ThrottleTimers } from './throttle.ts';

export interface AuditEntry {
  readonly requestId: string;
  readonly dialect: Dialect;
  readonly method: string;
  readonly host: string;
  /** The request path; any query string is dropped, since query strings can carry tokens. */
  readonly path: string;
  /** Client address as resolved through trusted proxies. */
  readonly client: string;
  /** Username when the session named a user (or `system:serviceaccount:…`), else null. */
  readonly user: string | null;
  readonly decision: DecisionKind;
  readonly reason: Reason;
  /** `hit` when the verdict was reused from the decision cache. */
  readonly cache: CacheLabel;
  readonly durationMs: number;
}

export interface AuditLog {
  record(entry: AuditEntry): void;
  /** Writes the counts of left-out lines not reported yet (at shutdown). */
  flush(): void;
}

export interface AuditLogOptions {
  readonly logger: Logger;
  /**
   * Share of *repeated* allows written, 0 to 1: a safe method (GET, HEAD, OPTIONS, TRACE) let in on a
   * cached verdict, or a public path. Forbidden users, fresh verdicts and unsafe methods are always
   * written; unauthenticated decisions up to `unauthenticatedPerSecond`, errors once per reason and interval.
   */
  readonly allowSampleRate: number;
  /**
   * `unauthenticated` lines written per second at most (0: no limit), and as many refusals of requests
   * that name no user (refused for their shape before any lookup). Anyone can send those, as fast as
   * they like; past the budget a flood is one line a second saying how many were left out, so it
   * cannot bury the log or make each refusal cost a write. Forbidden users and allows are never left
   * out; `error` decisions (an outage: every request is one) are written once per reason and interval.
   */
  readonly unauthenticatedPerSecond: number;
  /** Returns a number in [0, 1); injectable for tests. */
  readonly random?: () => number;
  /** Milliseconds, for the budgets; injectable for tests. */
  readonly now?: () => number;
  readonly timers?: ThrottleTimers;
  /** Default FAILURE_LOG_INTERVAL_MS: `error` decisions of one reason are written once per interval. */
  readonly errorIntervalMs?: number;
}

// Every field is client-influenced, so each has a ceiling; a line stays small whatever is sent.
const MAX_PATH = 512;
const MAX_HOST = 255;
const MAX_METHOD = 16;
const MAX_USER = 150; // Django's username max_length
const MAX_CLIENT = 64;
const MAX_REQUEST_ID = 128;

/** Django's safe methods: they read, so repeating one on a cached verdict tells the audit nothing new. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * An allow that repeats what the log already holds: the same session's verdict, reused from the
 * decision cache, for a read (or a public path). Every other decision is written: each denial (past
 * the per-second budget, those that name no user are counted instead; past the first of an interval,
 * error decisions of the same reason are), each fresh verdict (so every session that gets in appears
 * at least once per cache lifetime) and every request that changes something (revoke, shutdown).
 */
function isRepeatedAllow(entry: AuditEntry): boolean {
  if (entry.decision !== 'allow' || !SAFE_METHODS.has(entry.method)) return false;
  return entry.cache === 'hit' || entry.reason === 'public';
}

/** One line per decision: who, what, and why, so a refusal can be explained after the fact. */
export function createAuditLog(options: AuditLogOptions): AuditLog {
  const logger = options.logger.child({ component: 'audit' });
  const random = options.random ?? Math.random;
  const rate = Math.min(1, Math.max(0, options.allowSampleRate));
  const clock = {
    ...(options.now ? { now: options.now } : {}),
    ...(options.timers ? { timers: options.timers } : {}),
  };
  const anonymous = createLogThrottle<'unauthenticated' | 'forbidden'>({
    limit: options.unauthenticatedPerSecond,
    windowMs: 1000,
    ...clock,
    report: (decision, left, since) =>
      logger.warn(
        { leftOut: left, since: new Date(since).toISOString(), limit: options.unauthenticatedPerSecond },
        `${left} ${decision === 'forbidden' ? 'refusals of requests naming no user' : 'unauthenticated decisions'} ` +
          'were not logged (over log.unauthenticatedPerSecond); flowergate_auth_decisions_total counts every one',
      ),
  });
  const errorIntervalMs = options.errorIntervalMs ?? FAILURE_LOG_INTERVAL_MS;
  const errors = createLogThrottle<Reason>({
    limit: 1,
    windowMs: errorIntervalMs,
    ...clock,
    report: (reason, left, since) =>
      logger.warn(
        { leftOut: left, since: new Date(since).toISOString(), reason, intervalMs: errorIntervalMs },
        `${left} more error decisions (${reason}) were not logged; ` +
          'flowergate_auth_decisions_total counts every one',
      ),
  });
  return {
    record(entry) {
      const sampled = rate < 1 && isRepeatedAllow(entry);
      if (sampled && (rate === 0 || random() >= rate)) return;
      // Anyone can send these, without any credential and as fast as they like: a missing session, or a
      // request refused for its shape before any lookup (bad_request, ambiguous_path, disallowed_host…).
      const credentialless =
        entry.decision === 'unauthenticated' || (entry.decision === 'forbidden' && entry.user === null);
      if (credentialless && !anonymous.admit(entry.decision as 'unauthenticated' | 'forbidden')) return;
      if (entry.decision === 'error' && !errors.admit(entry.reason)) return;
      const line = {
        requestId: clip(entry.requestId, MAX_REQUEST_ID),
        dialect: entry.dialect,
        method: clip(entry.method, MAX_METHOD),
        host: clip(entry.host, MAX_HOST),
        path: clip(withoutQuery(entry.path), MAX_PATH),
        client: clip(entry.client, MAX_CLIENT),
        user: entry.user === null ? null : clip(entry.user, MAX_USER),
        decision: entry.decision,
        reason: entry.reason,
        durationMs: Math.round(entry.durationMs * 1000) / 1000,
        // Lets a reader scale sampled allow counts back up.
        ...(sampled ? { sampleRate: rate } : {}),
      };
      if (entry.decision === 'error') logger.warn(line, 'decision');
      else logger.info(line, 'decision');
    },
    flush() {
      anonymous.flush();
      errors.flush();
    },
  };
}

function withoutQuery(path: string): string {
  const q = path.indexOf('?');
  return q === -1 ? path : path.slice(0, q);
}

function clip(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max)}…`;
}
