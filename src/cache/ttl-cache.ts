/**
 * A bounded cache of async answers with separate lifetimes per answer (e.g. allow 5 s, deny 1 s),
 * single-flight loading (concurrent misses for one key share one load) and no caching of failures.
 * Eviction is least-recently-inserted: a Map keeps insertion order, so the oldest key is first.
 */
export interface TtlCache<V> {
  get(key: string, load: () => Promise<V>): Promise<{ value: V; result: 'hit' | 'miss' | 'coalesced' }>;
  delete(key: string): void;
  clear(): void;
  readonly size: number;
}

export interface TtlCacheOptions<V> {
  readonly maxEntries: number;
  /** Milliseconds a loaded value stays fresh; 0 means do not cache it. */
  readonly ttlMs: (value: V) => number;
  readonly now?: () => number;
}

export function createTtlCache<V>(options: TtlCacheOptions<V>): TtlCache<V> {
  const now = options.now ?? (() => performance.now());
  const entries = new Map<string, { value: V; expires: number }>();
  const inflight = new Map<string, Promise<V>>();

  return {
    async get(key, load) {
      const entry = entries.get(key);
      if (entry) {
        if (entry.expires > now()) return { value: entry.value, result: 'hit' };
        entries.delete(key);
      }
      const pending = inflight.get(key);
      if (pending) return { value: await pending, result: 'coalesced' };
      const loading = load();
      inflight.set(key, loading);
      try {
        const value = await loading;
        const ttl = options.ttlMs(value);
        if (ttl > 0) {
          if (entries.size >= options.maxEntries) {
            const oldest = entries.keys().next();
            if (!oldest.done) entries.delete(oldest.value);
          }
          entries.set(key, { value, expires: now() + ttl });
        }
        return { value, result: 'miss' };
      } finally {
        inflight.delete(key);
      }
    },
    delete: (key) => {
      entries.delete(key);
    },
    clear: () => entries.clear(),
    get size() {
      return entries.size;
    },
  };
}
