import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type HashAlgorithm = 'sha1' | 'sha256';

/** `salted_hmac`'s key: H(key_salt ‖ secret), computed once per (salt, secret) at start-up. */
export function deriveKey(keySalt: string, secret: string, algorithm: HashAlgorithm): Buffer {
  return createHash(algorithm).update(keySalt, 'utf8').update(secret, 'utf8').digest();
}

export function hmac(key: Buffer, value: string | Buffer, algorithm: HashAlgorithm): Buffer {
  return typeof value === 'string'
    ? createHmac(algorithm, key).update(value, 'utf8').digest()
    : createHmac(algorithm, key).update(value).digest();
}

/** Django's `constant_time_compare` on the UTF-8 bytes of two strings. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

export function base64UrlEncode(bytes: Buffer): string {
  return bytes.toString('base64url');
}

/**
 * Python's `urlsafe_b64decode(s + padding)`: characters outside the alphabet are dropped, and the
 * padding is computed from the original length, so some inputs raise. Returns null where Python raises.
 */
export function base64UrlDecode(text: string): Buffer | null {
  const padded = text + '='.repeat((4 - (text.length % 4)) % 4);
  const cleaned = padded.replace(/[^A-Za-z0-9\-_=]/g, '');
  const data = cleaned.replace(/=+$/, '');
  const padding = cleaned.length - data.length;
  if (data.includes('=') || data.length % 4 === 1 || (data.length + padding) % 4 !== 0) return null;
  return Buffer.from(data, 'base64url');
}

/** Python's `base64.b64decode` (standard alphabet, non-validating) for the pre-3.1 session format. */
export function base64StandardDecode(text: string): Buffer | null {
  const cleaned = text.replace(/[^A-Za-z0-9+/=]/g, '');
  const data = cleaned.replace(/=+$/, '');
  const padding = cleaned.length - data.length;
  if (data.includes('=') || data.length % 4 === 1 || (data.length + padding) % 4 !== 0) return null;
  return Buffer.from(data, 'base64');
}
