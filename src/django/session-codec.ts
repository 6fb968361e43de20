import type { DjangoConfig } from '../config/schema.ts';
import { base64StandardDecode, constantTimeEqual, deriveKey, type HashAlgorithm, hmac } from './crypto.ts';
import { parsePythonJson } from './python-json.ts';
import { createTimestampUnsigner, decodePayloadBytes, type UnsignResult } from './signing.ts';

export type SessionData = Readonly<Record<string, unknown>>;

export type DecodeResult =
  | { readonly ok: true; readonly data: SessionData; readonly timestamp: bigint | null }
  | { readonly ok: false; readonly reason: 'bad_signature' | 'bad_payload' | 'expired' };

const SIGNED_COOKIES_SALT = 'django.contrib.sessions.backends.signed_cookies';

/** Which signing rules apply, from the configured Django version. */
export function signingSecrets(config: DjangoConfig): { secrets: string[]; primary: HashAlgorithm[] } {
  const rules = config.version;
  const secrets = rules.signatureFallbacks
    ? [config.secretKey, ...config.secretKeyFallbacks]
    : [config.secretKey];
  const primary: HashAlgorithm[] = rules.legacySha1 ? [config.defaultHashingAlgorithm, 'sha1'] : ['sha256'];
  return { secrets, primary: [...new Set(primary)] };
}

/**
 * `SessionBase.decode` for the db, cached_db and file engines: `signing.loads` with the per-class salt
 * and no max_age. On Django 3.2 a bad signature falls back to the pre-3.1 format.
 */
export function createSessionDecoder(config: DjangoConfig): (sessionData: string) => DecodeResult {
  const { secrets, primary } = signingSecrets(config);
  const unsign = createTimestampUnsigner({
    salt: `django.contrib.sessions.${config.sessionStoreClass}`,
    secrets,
    primaryAlgorithms: primary,
  });
  const legacy = config.version.legacySha1 ? createLegacyDecoder(config) : null;
  return (sessionData) => {
    const result = deserialize(unsign(sessionData));
    if (result.ok || !legacy) return result;
    if (result.reason === 'bad_signature') return legacy(sessionData) ?? result;
    // 3.2 calls the legacy decoder unguarded here; for data Django signed that cannot happen in practice.
    return legacy(sessionData) ?? result;
  };
}

/** The signed_cookies engine: `signing.loads` with its own salt and max_age = SESSION_COOKIE_AGE. */
export function createSignedCookieDecoder(
  config: DjangoConfig,
): (cookie: string, nowMicros: number) => DecodeResult {
  const { secrets, primary } = signingSecrets(config);
  const unsign = createTimestampUnsigner({ salt: SIGNED_COOKIES_SALT, secrets, primaryAlgorithms: primary });
  const maxAgeMicros = BigInt(config.sessionCookieAge) * 1_000_000n;
  return (cookie, nowMicros) => {
    const unsigned = unsign(cookie);
    // Django raises SignatureExpired iff time.time() - timestamp > max_age (a float minus an int).
    if (unsigned.ok && BigInt(Math.floor(nowMicros)) - unsigned.timestamp * 1_000_000n > maxAgeMicros) {
      return { ok: false, reason: 'expired' };
    }
    return deserialize(unsigned);
  };
}

function deserialize(unsigned: UnsignResult): DecodeResult {
  if (!unsigned.ok) return unsigned;
  const bytes = decodePayloadBytes(unsigned.payload);
  if (bytes === null) return { ok: false, reason: 'bad_payload' };
  const data = parsePythonJson(bytes);
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    return { ok: false, reason: 'bad_payload' };
  return { ok: true, data: data as SessionData, timestamp: unsigned.timestamp };
}

/**
 * Django ≤ 3.0's format, still read by 3.1/3.2: base64(HEXHASH ":" JSON), where HEXHASH is a sha1
 * salted HMAC with the salt `django.contrib.sessions` + class `__name__` (no dot).
 */
function createLegacyDecoder(config: DjangoConfig): (sessionData: string) => DecodeResult | null {
  const className = config.sessionStoreClass.split('.').pop() ?? config.sessionStoreClass;
  const key = deriveKey(`django.contrib.sessions${className}`, config.secretKey, 'sha1');
  return (sessionData) => {
    const decoded = base64StandardDecode(sessionData);
    if (decoded === null) return null;
    const colon = decoded.indexOf(0x3a);
    if (colon === -1) return null;
    const serialized = decoded.subarray(colon + 1);
    const expected = hmac(key, serialized, 'sha1').toString('hex');
    if (!constantTimeEqual(decoded.subarray(0, colon).toString('latin1'), expected)) return null;
    const data = parsePythonJson(serialized);
    if (typeof data !== 'object' || data === null || Array.isArray(data)) return null;
    return { ok: true, data: data as SessionData, timestamp: null };
  };
}
