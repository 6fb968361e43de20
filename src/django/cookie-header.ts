/**
 * Reads one cookie from a Cookie header exactly as Django's `parse_cookie` does: split on `;`, split
 * each chunk at its first `=` (no `=` means the empty name), strip whitespace, unquote like
 * `http.cookies._unquote`, and let a later duplicate overwrite an earlier one.
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let found: string | undefined;
  let start = 0;
  while (start <= header.length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const chunk = header.slice(start, end);
    start = end + 1;
    const eq = chunk.indexOf('=');
    const key = (eq === -1 ? '' : chunk.slice(0, eq)).trim();
    if (key !== name) continue;
    const value = (eq === -1 ? chunk : chunk.slice(eq + 1)).trim();
    if (key === '' && value === '') continue;
    found = unquote(value);
  }
  return found;
}

/** Python's `str.strip()` whitespace differs from JS `trim()` only in exotic characters we accept either way. */
function unquote(value: string): string {
  if (value.length < 2 || value[0] !== '"' || value[value.length - 1] !== '"') return value;
  const inner = value.slice(1, -1);
  // http.cookies._unquote: `\ooo` octal escapes become that byte, `\X` becomes X.
  return inner.replace(
    /\\(?:([0-3][0-7][0-7])|([\s\S]))/g,
    (_m, octal: string | undefined, char: string | undefined) =>
      octal !== undefined ? String.fromCharCode(Number.parseInt(octal, 8)) : (char ?? ''),
  );
}

/**
 * Node hands us header bytes as latin-1; Django's WSGI layer decodes the Cookie header as UTF-8 with
 * replacement characters. Only non-ASCII headers need the round trip.
 */
export function wsgiCookieHeader(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!/[^\x00-\x7f]/.test(header)) return header;
  return new TextDecoder('utf-8').decode(Buffer.from(header, 'latin1'));
}
