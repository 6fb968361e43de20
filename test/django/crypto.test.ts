import { createHash, createHmac } from 'node:crypto';
import test from 'ava';
import fc from 'fast-check';
import { deriveKey, hmac } from '../../src/django/crypto.ts';

// hmac() computes RFC 2104 from two one-shot hashes; it must be createHmac() to the bit, for both
// algorithms, any salt and secret (Django's are free text) and any value, empty and multi-block ones
// included. (The real-Django conformance suite checks the same code against Django's own signatures.)
test('hmac() equals createHmac() keyed with salted_hmac’s H(salt ‖ secret), for SHA-1 and SHA-256', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.constantFrom('sha1' as const, 'sha256' as const),
        fc.string(),
        fc.string({ minLength: 1 }),
        fc.oneof(fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 })),
        (algorithm, salt, secret, value) => {
          const raw = createHash(algorithm).update(salt, 'utf8').update(secret, 'utf8').digest();
          const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
          const expected = createHmac(algorithm, raw).update(bytes).digest('hex');
          const got = hmac(
            deriveKey(salt, secret, algorithm),
            typeof value === 'string' ? value : bytes,
            algorithm,
          );
          if (got.toString('hex') !== expected) throw new Error(`${algorithm} ${JSON.stringify(value)}`);
        },
      ),
      { numRuns: 1000 },
    ),
  );
});
