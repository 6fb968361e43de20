/**
 * A bounded cache of async answers with separate lifetimes per answer (e.g. allow 5 s, deny 1 s),
 * single-flight loading (concurrent misses for one key share one load) and no caching of failures.
 * Eviction is least-recently-inserted: a Map keeps insertion order, so the oldest key is first.
 * When full, the oldest sixteenth goes at once: V8 leaves a deleted Map entry as a hole until the
 * table is rebuilt, so finding "the first key" one eviction at a time walks thousands of holes
 * (measured: a tenth of the CPU of a flood of unknown session keys).
 *
 * With `kind`, each kind of answer has its own `maxEntries` of room: a flood of one kind (denials for
 * made-up session keys) cannot evict the other (the allows that real users' requests hit).
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
  /** Which room a value is kept in (0 or 1), each holding up to `maxEntries`; all in room 0 without it. */
  readonly kind?: (value: V) => 0 | 1;
  readonly now?: () => number;
}

export function createTtlCache<V>(options: TtlCacheOptions<V>): TtlCache<V> {
  const now = options.now ?? (() => performance.now());
  type Entry = { value: V; expires: number };
  const rooms: [Map<string, Entry>, Map<string, Entry>] = [new Map(), new Map()];
  const kind = options.kind ?? (() => 0 as const);
  const inflight = new Map<string, Promise<V>>();

  const evictBatch = Math.max(1, Math.ceil(options.maxEntries / 16));
  const fresh = (key: string): { value: V } | undefined => {
    let room = rooms[0];
    let entry = room.get(key);
    if (!entry) {
      room = rooms[1];
      entry = room.get(key);
      if (!entry) return undefined;
    }
    if (entry.expires > now()) return entry;
    room.delete(key);
    return undefined;
  };
  const store = (key: string, value: V, ttl: number) => {
    const which = kind(value);
    const room = rooms[which];
    if (room.size >= options.maxEntries) {
      let evicted = 0;
      for (const oldest of room.keys()) {
        room.delete(oldest);
        if (++evicted >= evictBatch) break;
      }
    }
    rooms[1 - which]!.delete(key); // a key lives in one room: its latest answer's
    room.set(key, { value, expires: now() + ttl });
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
        if (ttl > 0) store(key, value, ttl);
        return { value, result: 'miss' };
      } finally {
        inflight.delete(key);
      }
    },
    delete: (key) => {
      for (const room of rooms) room.delete(key);
    },
    clear: () => {
      for (const room of rooms) room.clear();
    },
    get size() {
      return rooms[0].size + rooms[1].size;
    },
  };
}
