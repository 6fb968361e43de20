import type { DjangoConfig } from '../config/schema.ts';
import type { UserKey } from './database/store.ts';
import { pythonInt } from './python-int.ts';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * `UserModel._meta.pk.to_python(session['_auth_user_id'])`. Returns the key to look up, `null` when
 * Django would look up None (no user), or `'invalid'` when Django raises (the request crashes; deny).
 */
export function parseUserKey(
  value: unknown,
  pkType: DjangoConfig['userModel']['pkType'],
  dialect: 'sqlite' | 'postgres' | 'mysql',
): UserKey | null | 'invalid' {
  switch (pkType) {
    case 'int': {
      const parsed = pythonInt(value);
      if (parsed === null || parsed === 'invalid') return parsed;
      // No row can hold a larger key; Django's lookup finds nothing.
      if (parsed < INT64_MIN || parsed > INT64_MAX) return null;
      return { kind: 'int', value: parsed };
    }
    case 'uuid': {
      if (value === null || value === undefined) return null;
      const hex = uuidHex(value);
      if (hex === null) return 'invalid';
      // Django stores UUIDs natively on PostgreSQL and as 32 hex characters elsewhere.
      return {
        kind: 'text',
        value:
          dialect === 'postgres'
            ? `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
            : hex,
      };
    }
    case 'string':
      if (value === null || value === undefined) return null;
      if (typeof value === 'string') return { kind: 'text', value };
      if (typeof value === 'number' && Number.isInteger(value)) return { kind: 'text', value: String(value) };
      return 'invalid';
  }
}

/** `uuid.UUID(hex=…)` (strings) or `uuid.UUID(int=…)` (integers), as lower-case hex. */
function uuidHex(value: unknown): string | null {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) return null;
    return value.toString(16).padStart(32, '0');
  }
  if (typeof value !== 'string') return null;
  const hex = value
    .replace(/^urn:/i, '')
    .replace(/^uuid:/i, '')
    .replace(/^\{|\}$/g, '')
    .replaceAll('-', '');
  return /^[0-9a-fA-F]{32}$/.test(hex) ? hex.toLowerCase() : null;
}
