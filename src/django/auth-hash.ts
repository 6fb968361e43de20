import type { DjangoConfig } from '../config/schema.ts';
import { constantTimeEqual, deriveKey, type HashAlgorithm, hmac } from './crypto.ts';

const SALT = 'django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash';

export type HashCheck = 'verified' | 'fallback' | 'mismatch';

/**
 * `_auth_user_hash` against the user's password column, as `get_user` checks it: the current key;
 * on 4.1.8+ any fallback key (Django then cycles the session, and the user is in); on 3.2 the
 * DEFAULT_HASHING_ALGORITHM hash or the legacy sha1 hash. Keys are derived once.
 */
export function createAuthHashChecker(
  config: DjangoConfig,
): (sessionHash: unknown, password: string) => HashCheck {
  const rules = config.version;
  const algorithms: HashAlgorithm[] = rules.legacySha1
    ? [...new Set([config.defaultHashingAlgorithm, 'sha1' as const])]
    : ['sha256'];
  const current = algorithms.map((algorithm) => ({
    key: deriveKey(SALT, config.secretKey, algorithm),
    algorithm,
  }));
  const fallbacks = rules.hashFallbacks
    ? config.secretKeyFallbacks.map((secret) => deriveKey(SALT, secret, 'sha256'))
    : [];
  return (sessionHash, password) => {
    // Python truthiness: a missing or empty hash is never verified.
    if (!sessionHash) return 'mismatch';
    const given = typeof sessionHash === 'string' ? sessionHash : String(sessionHash);
    for (const { key, algorithm } of current) {
      if (constantTimeEqual(given, hmac(key, password, algorithm).toString('hex'))) return 'verified';
    }
    for (const key of fallbacks) {
      if (constantTimeEqual(given, hmac(key, password, 'sha256').toString('hex'))) return 'fallback';
    }
    return 'mismatch';
  };
}

/** The hash Django would store at login; used by the demo and benchmarks. */
export function sessionAuthHash(secret: string, password: string): string {
  return hmac(deriveKey(SALT, secret, 'sha256'), password, 'sha256').toString('hex');
}
