import { createHash, hash, timingSafeEqual } from 'node:crypto';

export type HashAlgorithm = 'sha1' | 'sha256';

/** SHA-1 and SHA-256 both work on 64-byte blocks (RFC 2104's B). */
const BLOCK = 64;

/**
 * An HMAC key prepared once: RFC 2104's K ⊕ ipad and K ⊕ opad. With them an HMAC is two one-shot
 * hashes, a third of what createHmac() costs per call (its object and key handling), and two HMACs
 * are on the path of every uncached decision.
 */
export interface HmacKey {
  readonly inner: Buffer;
  readonly outer: Buffer;
}

/** `salted_hmac`'s key, H(key_salt ‖ secret), computed once per (salt, secret) at start-up. */
export function deriveKey(keySalt: string, secret: string, algorithm: HashAlgorithm): HmacKey {
  const key = createHash(algorithm).update(keySalt, 'utf8').update(secret, 'utf8').digest();
  // A digest is never longer than a block, so RFC 2104's "hash a long key first" does not arise.
  const inner = Buffer.alloc(BLOCK, 0x36);
  const outer = Buffer.alloc(BLOCK, 0x5c);
  for (let i = 0; i < key.length; i++) {
    inner[i]! ^= key[i]!;
    outer[i]! ^= key[i]!;
  }
  return { inner, outer };
}

/** HMAC(key, value) = H(K ⊕ opad ‖ H(K ⊕ ipad ‖ value)). */
export function hmac(key: HmacKey, value: string | Buffer, algorithm: HashAlgorithm): Buffer {
  const message = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const inner = hash(algorithm, Buffer.concat([key.inner, message]), 'buffer');
  return hash(algorithm, Buffer.concat([key.outer, inner]), 'buffer');
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

const STANDARD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const TABLE = new Int8Array(256).fill(-1);
for (let i = 0; i < 64; i++) TABLE[STANDARD.charCodeAt(i)] = i;
const URLSAFE_TABLE = Int8Array.from(TABLE);
URLSAFE_TABLE['-'.charCodeAt(0)] = 62;
URLSAFE_TABLE['_'.charCodeAt(0)] = 63;

/**
 * CPython's non-strict `binascii.a2b_base64`, as Django's `b64_decode` reaches it (padding added
 * from the original length, url-safe characters translated): characters outside the alphabet are
 * skipped, enough `=` ends the input, and a dangling quad raises. Returns null where Python raises.
 */
function pythonBase64(text: string, table: Int8Array): Buffer | null {
  const input = Buffer.from(text, 'utf8');
  const out = Buffer.allocUnsafe(Math.ceil((input.length * 3) / 4));
  let length = 0;
  let quad = 0;
  let left = 0;
  let pads = 0;
  for (const byte of input) {
    if (byte === 0x3d) {
      pads++;
      if (quad >= 2 && quad + pads >= 4) return out.subarray(0, length);
      continue;
    }
    const value = table[byte]!;
    if (value < 0) continue;
    pads = 0;
    switch (quad) {
      case 0:
        left = value;
        quad = 1;
        break;
      case 1:
        out[length++] = (left << 2) | (value >> 4);
        left = value & 0x0f;
        quad = 2;
        break;
      case 2:
        out[length++] = ((left << 4) | (value >> 2)) & 0xff;
        left = value & 0x03;
        quad = 3;
        break;
      default:
        out[length++] = ((left << 6) | value) & 0xff;
        quad = 0;
    }
  }
  return quad === 0 ? out.subarray(0, length) : null;
}

/** Django's `signing.b64_decode`: url-safe base64 with the padding re-added. */
export function base64UrlDecode(text: string): Buffer | null {
  return pythonBase64(text + '='.repeat((4 - (text.length % 4)) % 4), URLSAFE_TABLE);
}

/** `base64.b64decode` for the pre-3.1 session format (standard alphabet, padding as given). */
export function base64StandardDecode(text: string): Buffer | null {
  // `session_data.encode('ascii')` raises on anything else.
  return /^[\x00-\x7f]*$/.test(text) ? pythonBase64(text, TABLE) : null;
}
