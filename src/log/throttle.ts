/** Timers, injectable so a test can close a window by hand. */
export interface ThrottleTimers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface LogThrottleOptions<K> {
  /** Lines written per key in each window; 0 or less: no limit. */
  readonly limit: number;
  readonly windowMs: number;
  /** Called once per window that left lines out: the key, how many, and when the first was left out (ms). */
  readonly report: (key: K, leftOut: number, since: number) => void;
  /** Milliseconds; injectable for tests. */
  readonly now?: () => number;
  readonly timers?: ThrottleTimers;
  /** Distinct keys tracked at most; further keys share the last one's budget (keys are kinds, never input). */
  readonly maxKeys?: number;
}

export interface LogThrottle<K> {
  /** True when this line may be written; false when it was counted instead. */
  admit(key: K): boolean;
  /** Reports every count not reported yet (at shutdown, so no count is lost). */
  flush(): void;
}

interface Window {
  start: number;
  used: number;
  leftOut: number;
  since: number;
  timer: unknown;
}

const realTimers: ThrottleTimers = {
  set(callback, ms) {
    const timer = setTimeout(callback, ms);
    timer.unref(); // a pending summary never keeps the process alive
    return timer;
  },
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * One budget for every kind of line that can repeat once per request (audit lines for a flood,
 * failures during an outage): per key, a window opens at its first line and lets `limit` lines through;
 * the rest are counted and reported in one line when the window closes — by a timer at its end, or by
 * the next line after it, whichever comes first. Lines under the budget cost a map lookup, no timer.
 */
export function createLogThrottle<K>(options: LogThrottleOptions<K>): LogThrottle<K> {
  const now = options.now ?? Date.now;
  const timers = options.timers ?? realTimers;
  const maxKeys = options.maxKeys ?? 64;
  const windows = new Map<K, Window>();

  const close = (key: K, window: Window) => {
    if (window.timer !== null) timers.clear(window.timer);
    window.timer = null;
    if (window.leftOut) options.report(key, window.leftOut, window.since);
    window.leftOut = 0;
  };

  const windowOf = (key: K, at: number): [K, Window] => {
    let window = windows.get(key);
    if (!window) {
      if (windows.size >= maxKeys) {
        const last = [...windows.keys()].at(-1) as K;
        return [last, windows.get(last) as Window];
      }
      window = { start: at, used: 0, leftOut: 0, since: 0, timer: null };
      windows.set(key, window);
    }
    return [key, window];
  };

  return {
    admit(key) {
      if (options.limit <= 0) return true;
      const at = now();
      const [owner, window] = windowOf(key, at);
      if (at - window.start >= options.windowMs) {
        close(owner, window);
        window.start = at;
        window.used = 0;
      }
      if (++window.used <= options.limit) return true;
      if (window.leftOut++ === 0) {
        window.since = at;
        const remaining = Math.max(0, window.start + options.windowMs - at);
        window.timer = timers.set(() => {
          window.timer = null;
          close(owner, window);
        }, remaining);
      }
      return false;
    },
    flush() {
      for (const [key, window] of windows) close(key, window);
    },
  };
}
