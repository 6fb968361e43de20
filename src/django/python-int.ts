/**
 * `int(value)` as Django's AutoField.to_python applies it to `_auth_user_id`:
 * returns the integer, `null` for JSON null (Django then finds no user), or `'invalid'` where Python
 * raises (Django lets that ValidationError escape: the request crashes, so we deny).
 */
export function pythonInt(value: unknown): bigint | null | 'invalid' {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1n : 0n;
  if (typeof value === 'number') return Number.isFinite(value) ? BigInt(Math.trunc(value)) : 'invalid';
  if (typeof value === 'bigint') return value;
  if (typeof value !== 'string') return 'invalid';
  return parseIntString(value);
}

// Python's str.strip() whitespace for int(): Unicode White_Space plus the ASCII separators 0x1c-0x1f.
const WHITESPACE = /^[\s\x1c-\x1f\x85]+|[\s\x1c-\x1f\x85]+$/gu;
const DIGITS_ONLY = /^[+-]?\p{Nd}+(?:_\p{Nd}+)*$/u;
/** Bounds the cost of a pathological id; real primary keys are short. */
const MAX_LENGTH = 4300; // CPython's own int-from-str digit limit.

function parseIntString(text: string): bigint | 'invalid' {
  if (text.length > MAX_LENGTH + 64) return 'invalid';
  const stripped = text.replace(WHITESPACE, '');
  if (!DIGITS_ONLY.test(stripped)) return 'invalid';
  let ascii = '';
  for (const char of stripped) {
    if (char === '+' || char === '-') ascii += char;
    else if (char !== '_') ascii += String(decimalValue(char));
  }
  return BigInt(ascii);
}

/** The value of a Unicode decimal digit: Nd digits come in contiguous runs of ten starting at zero. */
function decimalValue(char: string): number {
  const code = char.codePointAt(0)!;
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  let start = code;
  while (/\p{Nd}/u.test(String.fromCodePoint(start - 1))) start--;
  return (code - start) % 10;
}
