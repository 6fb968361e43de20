import { scrub } from '../log/scrub.ts';

export interface ReadinessOptions {
  /** A cheap query against the session store (e.g. `SELECT 1`); rejects when the store is unusable. */
  readonly ping: () => Promise<void>;
  /** Milliseconds between pings. */
  readonly intervalMs: number;
  /** Milliseconds a ping may take before it counts as a failure. */
  readonly timeoutMs: number;
  /** A success older than this no longer counts (the pinger itself may be stuck); 3 intervals by default. */
  readonly maxAgeMs?: number;
  /** Wall clock in milliseconds; injectable for tests. */
  readonly now?: () => number;
  /** Masks secrets in error messages; pass the logger's redactor to mask literal secrets too. */
  readonly redact?: (text: string) => string;
}

export interface StoreCheck {
  readonly ok: boolean;
  readonly lastSuccessAt: string | null;
  readonly lastFailureAt: string | null;
  /** Why the last ping failed, scrubbed of credentials; null after a success. */
  readonly error: string | null;
  readonly durationMs: number | null;
}

export interface ReadinessReport {
  readonly status: 'ready' | 'not_ready';
  /** One plain sentence per failing check; empty when ready. */
  readonly problems: readonly string[];
  readonly checks: {
    /** Readiness is only ever built from a loaded, validated configuration. */
    readonly config: { readonly ok: true };
    readonly store: StoreCheck;
    readonly shutdown: { readonly ok: boolean };
  };
}

export interface Readiness {
  /** Pings now, then every interval until stop(). The timer does not keep the process alive. */
  start(): void;
  stop(): void;
  /** One ping now; concurrent calls share it. */
  check(): Promise<void>;
  /** From now on /readyz answers 503, so the load balancer drains this pod before it exits. */
  markShuttingDown(): void;
  report(): ReadinessReport;
}

const MAX_ERROR = 300;

export function createReadiness(options: ReadinessOptions): Readiness {
  const now = options.now ?? Date.now;
  const maxAgeMs = options.maxAgeMs ?? options.intervalMs * 3;
  const redact = options.redact ?? scrub;
  let lastSuccess: number | null = null;
  let lastFailure: number | null = null;
  let lastError: string | null = null;
  let lastDuration: number | null = null;
  let shuttingDown = false;
  let inFlight: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let running = false;

  const ping = async (): Promise<void> => {
    const started = now();
    let timeout: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        options.ping(),
        new Promise<never>((_, reject) => {
          timeout = setTimeout(
            () => reject(new Error(`no answer within ${options.timeoutMs} ms`)),
            options.timeoutMs,
          );
        }),
      ]);
      lastSuccess = now();
      lastError = null;
    } catch (error) {
      lastFailure = now();
      lastError = describe(error, redact);
    } finally {
      clearTimeout(timeout);
      lastDuration = now() - started;
    }
  };

  const check = (): Promise<void> => {
    inFlight ??= ping().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };

  const schedule = () => {
    if (!running) return;
    timer = setTimeout(() => {
      void check().then(schedule);
    }, options.intervalMs);
    timer.unref();
  };

  const storeProblem = (): string | null => {
    if (lastError !== null) return `session store: ${lastError}`;
    if (lastSuccess === null) return 'session store: no answer yet';
    const age = now() - lastSuccess;
    if (age > maxAgeMs) return `session store: last answered ${Math.round(age / 1000)} s ago`;
    return null;
  };

  return {
    start() {
      if (running) return;
      running = true;
      void check().then(schedule);
    },
    stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = null;
    },
    check,
    markShuttingDown() {
      shuttingDown = true;
    },
    report() {
      const store = storeProblem();
      const problems = [store, shuttingDown ? 'shutting down' : null].filter((p): p is string => p !== null);
      return {
        status: problems.length === 0 ? 'ready' : 'not_ready',
        problems,
        checks: {
          config: { ok: true },
          store: {
            ok: store === null,
            lastSuccessAt: iso(lastSuccess),
            lastFailureAt: iso(lastFailure),
            error: lastError,
            durationMs: lastDuration,
          },
          shutdown: { ok: !shuttingDown },
        },
      };
    },
  };
}

function describe(error: unknown, redact: (text: string) => string): string {
  const text = redact(error instanceof Error ? error.message : String(error));
  return text.length > MAX_ERROR ? `${text.slice(0, MAX_ERROR)}…` : text;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
