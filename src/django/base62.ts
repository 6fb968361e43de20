const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Longer than any sane timestamp; bounds the work an absurd value can cost. */
const MAX_DIGITS = 32;

/** Django's `b62_decode` (4.1+) / `baseconv.base62.decode` (3.2). Null where Django raises ValueError. */
export function base62Decode(text: string): bigint | null {
  if (text === '' || text.length > MAX_DIGITS + 1) return null;
  const negative = text[0] === '-';
  const digits = negative ? text.slice(1) : text;
  if (digits === '') return null;
  let value = 0n;
  for (const char of digits) {
    const digit = ALPHABET.indexOf(char);
    if (digit === -1) return null;
    value = value * 62n + BigInt(digit);
  }
  return negative ? -value : value;
}

export function base62Encode(value: number): string {
  if (value === 0) return '0';
  const negative = value < 0;
  let rest = Math.abs(Math.trunc(value));
  let out = '';
  while (rest > 0) {
    out = ALPHABET[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return negative ? `-${out}` : out;
}
