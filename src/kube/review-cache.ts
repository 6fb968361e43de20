import { createHash } from 'node:crypto';

/** Where an answer came from: stored, a call of our own, or a call another caller had in flight. */
export type CacheSource = 'hit' | 'miss' | 'coalesced';

export interface ReviewCache<V> {
  /**
   * The answer for `material` (a token, or a serialized review): from the cache while fresh, else
   * from `load`, shared with every concurrent caller of the same material. A rejected `load` is
   * passed on to all of them and never stored.
   */
  get(material: string, load: () => Promise<V>): Promise<{ value: V; source: CacheSource }>;
  readonly size: number;
  clear(): void;
}

export interface ReviewCacheOptions<V> {
  maxEntries: number;
  /** Seconds an allowing answer is kept; 0 keeps none. */
  allowTtl: number;
  /** Seconds a refusing answer is kept; 0 keeps none. */
  denyTtl: number;
  isAllow: (value: V) => boolean;
  /** Milliseconds, monotonic. */
  now?: () => number;
}

/**
 * A bounded TTL cache in front of the API server, as kube-rbac-proxy keeps one for TokenReviews and
 * one for SubjectAccessReviews. Keys are the SHA-256 of the material, so a bearer token is never a
 * key, never held past the call, never visible in a heap dump of the cache. At `maxEntries` the
 * least recently used entry goes (a Map keeps insertion order; a hit re-inserts).
 */
export function createReviewCache<V>(options: ReviewCacheOptions<V>): ReviewCache<V> {
  const now = options.now ?? (() => performance.now());
  const entries = new Map<string, { value: V; expiresAt: number }>();
  const inFlight = new Map<string, Promise<V>>();

  const store = (key: string, value: V): void => {
    const ttl = options.isAllow(value) ? options.allowTtl : options.denyTtl;
    if (ttl <= 0) return;
    entries.delete(key);
    entries.set(key, { value, expiresAt: now() + ttl * 1000 });
    while (entries.size > options.maxEntries) {
      const oldest = entries.keys().next().value;
      if (oldest === undefined) break;
      entries.delete(oldest);
    }
  };

  return {
    async get(material, load) {
      const key = cacheKey(material);
      const entry = entries.get(key);
      if (entry) {
        if (now() < entry.expiresAt) {
          entries.delete(key);
          entries.set(key, entry);
          return { value: entry.value, source: 'hit' };
        }
        entries.delete(key);
      }
      const pending = inFlight.get(key);
      if (pending) return { value: await pending, source: 'coalesced' };
      const call = (async () => {
        // Yield once, so the entry below is in place before `load` runs, even if it throws at once.
        await undefined;
        try {
          const value = await load();
          store(key, value);
          return value;
        } finally {
          inFlight.delete(key);
        }
      })();
      inFlight.set(key, call);
      return { value: await call, source: 'miss' };
    },
    get size() {
      return entries.size;
    },
    clear() {
      entries.clear();
    },
  };
}

export function cacheKey(material: string): string {
  return createHash('sha256').update(material).digest('hex');
}
