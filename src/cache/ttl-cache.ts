/**
 * A bounded cache of async answers with separate lifetimes per answer (e.g. allow 5 s, deny 1 s),
 * single-flight loading (concurrent misses for one key share one load) and no caching of failures.
 * Eviction is least-recently-inserted: a Map keeps insertion order, so the oldest key is first.
 * When full, the oldest sixteenth goes at once: V8 leaves a deleted Map entry as a hole until the
 * table is rebuilt, so finding "the first key" one eviction at a time walks thousands of holes
 * (measured: a tenth of the CPU of a flood of unknown session keys).
 */
export interface TtlCache<V> {
  /** The fresh value for `key`, without waiting: the cache-hit path stays synchronous. */
  peek(key: string): V | undefined;
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

  const evictBatch = Math.max(1, Math.ceil(options.maxEntries / 16));
  const fresh = (key: string): { value: V } | undefined => {
    const entry = entries.get(key);
    if (!entry) return undefined;
    if (entry.expires > now()) return entry;
    entries.delete(key);
    return undefined;
  };

  return {
    peek: (key) => fresh(key)?.value,
    async get(key, load) {
      const entry = fresh(key);
      if (entry) return { value: entry.value, result: 'hit' };
      const pending = inflight.get(key);
      if (pending) return { value: await pending, result: 'coalesced' };
      const loading = load();
      inflight.set(key, loading);
      try {
        const value = await loading;
        const ttl = options.ttlMs(value);
        if (ttl > 0) {
          if (entries.size >= options.maxEntries) {
            let evicted = 0;
            for (const oldest of entries.keys()) {
              entries.delete(oldest);
              if (++evicted >= evictBatch) break;
            }
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
