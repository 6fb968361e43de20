/**
 * The path rules are matched against. Tornado (Flower) routes on the raw path, and front proxies
 * may merge slashes, decode and resolve dot segments before it gets there; so we canonicalise the
 * way the most normalising hop would: decode unreserved percent-escapes (`%2e`, `%41`…), merge
 * slashes, remove `.` and `..` segments. Encoded separators (`%2F`, `%5C`), backslashes and control
 * characters make a path ambiguous: different hops would route it differently, so it is refused.
 */
export type NormalizedPath =
  | { readonly ok: true; readonly path: string }
  | { readonly ok: false; readonly why: string };

const MAX_PATH_LENGTH = 8192;
/** A percent-escape, an empty segment, or a `.` / `..` segment. */
const NEEDS_WORK = /%|\/\/|\/\.\.?(?:\/|$)/;

export function normalizePath(raw: string): NormalizedPath {
  if (raw.length > MAX_PATH_LENGTH) return { ok: false, why: 'path too long' };
  const query = raw.indexOf('?');
  let path = query === -1 ? raw : raw.slice(0, query);
  const hash = path.indexOf('#');
  if (hash !== -1) path = path.slice(0, hash);
  if (!path.startsWith('/')) return { ok: false, why: 'path must start with /' };
  if (/[\\\x00-\x1f\x7f]/.test(path)) return { ok: false, why: 'backslash or control character in path' };
  // Nothing to decode, merge or resolve: the path is already canonical (nearly every request).
  if (!NEEDS_WORK.test(path)) return { ok: true, path };
  let decoded = '';
  for (let i = 0; i < path.length; i++) {
    const char = path[i]!;
    if (char !== '%') {
      decoded += char;
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return { ok: false, why: 'malformed percent-escape' };
    const code = Number.parseInt(hex, 16);
    const ch = String.fromCharCode(code);
    if (ch === '/' || ch === '\\' || code < 0x20 || code === 0x7f) {
      return { ok: false, why: 'encoded slash, backslash or control character in path' };
    }
    // Unreserved characters mean the same encoded or not; everything else stays encoded, upper-cased.
    decoded += /[A-Za-z0-9\-._~]/.test(ch) ? ch : `%${hex.toUpperCase()}`;
    i += 2;
  }
  const out: string[] = [];
  for (const segment of decoded.split('/').slice(1)) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  const trailing = /\/(\.{0,2})$/.test(decoded) && out.length > 0 ? '/' : '';
  return { ok: true, path: `/${out.join('/')}${trailing}` };
}
