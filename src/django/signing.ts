import { deflateSync, inflateSync } from 'node:zlib';
import { base62Decode, base62Encode } from './base62.ts';
import {
  base64UrlDecode,
  base64UrlEncode,
  constantTimeEqual,
  deriveKey,
  type HashAlgorithm,
  type HmacKey,
  hmac,
} from './crypto.ts';

/** Decompressed session payloads larger than this are refused: a zip bomb costs us one bounded inflate. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

export interface SignerOptions {
  /** The signer's salt, e.g. `django.contrib.sessions.SessionStore`. */
  readonly salt: string;
  /** SECRET_KEY first, then SECRET_KEY_FALLBACKS where the Django version honours them. */
  readonly secrets: readonly string[];
  /** Algorithms tried with the primary key, in order (3.2: DEFAULT_HASHING_ALGORITHM, then sha1). */
  readonly primaryAlgorithms: readonly HashAlgorithm[];
}

export type UnsignResult =
  | { readonly ok: true; readonly payload: string; readonly timestamp: bigint }
  | { readonly ok: false; readonly reason: 'bad_signature' | 'bad_payload' };

/**
 * Django's `TimestampSigner.unsign` without max_age: split at the last `:`, compare the signature
 * with every accepted key in constant time, then split off the base62 timestamp. Keys are derived
 * once here, not per request.
 */
export function createTimestampUnsigner(options: SignerOptions): (signed: string) => UnsignResult {
  const keySalt = `${options.salt}signer`;
  const candidates: { key: HmacKey; algorithm: HashAlgorithm }[] = [];
  options.secrets.forEach((secret, index) => {
    const algorithms = index === 0 ? options.primaryAlgorithms : (['sha256'] as const);
    for (const algorithm of algorithms)
      candidates.push({ key: deriveKey(keySalt, secret, algorithm), algorithm });
  });
  return (signed) => {
    const sep = signed.lastIndexOf(':');
    if (sep === -1) return { ok: false, reason: 'bad_signature' };
    const value = signed.slice(0, sep);
    const signature = signed.slice(sep + 1);
    let valid = false;
    for (const { key, algorithm } of candidates) {
      if (constantTimeEqual(signature, base64UrlEncode(hmac(key, value, algorithm)))) {
        valid = true;
        break;
      }
    }
    if (!valid) return { ok: false, reason: 'bad_signature' };
    const tsSep = value.lastIndexOf(':');
    if (tsSep === -1) return { ok: false, reason: 'bad_payload' };
    const timestamp = base62Decode(value.slice(tsSep + 1));
    if (timestamp === null) return { ok: false, reason: 'bad_payload' };
    return { ok: true, payload: value.slice(0, tsSep), timestamp };
  };
}

/**
 * The bytes `signing.loads` deserialises: base64url, inflated when the payload starts with `.`.
 * Null when Django's decoding would raise, or when inflating exceeds our bound.
 */
export function decodePayloadBytes(payload: string): Buffer | null {
  const compressed = payload.startsWith('.');
  const data = base64UrlDecode(compressed ? payload.slice(1) : payload);
  if (data === null) return null;
  if (!compressed) return data;
  try {
    return inflateSync(data, { maxOutputLength: MAX_PAYLOAD_BYTES });
  } catch {
    return null;
  }
}

/** Builds a value as `signing.dumps` does; used by the demo and benchmarks to mint real sessions. */
export function signObject(
  json: string,
  options: { salt: string; secret: string; timestamp: number; compress: boolean },
): string {
  const raw = Buffer.from(json, 'latin1');
  let body = base64UrlEncode(raw);
  if (options.compress) {
    const compressed = deflateSync(raw);
    if (compressed.length < raw.length - 1) body = `.${base64UrlEncode(compressed)}`;
  }
  const value = `${body}:${base62Encode(options.timestamp)}`;
  const key = deriveKey(`${options.salt}signer`, options.secret, 'sha256');
  return `${value}:${base64UrlEncode(hmac(key, value, 'sha256'))}`;
}
