/**
 * The path rules judge is the path Flower routes. Tornado matches its URL table against the raw
 * request path (no decoding, no dot-segment resolution, no slash merging), while a front proxy may
 * decode, resolve or merge before it gets there. So nothing is canonicalised here: a path whose
 * meaning could differ between hops is refused (`ambiguous_path`), and every other path is judged
 * exactly as sent — the same bytes the sidecar forwards. Refused:
 *
 * - `.` and `..` segments, raw or as `%2e` in any case: Tornado routes them literally, a proxy or
 *   a browser resolves them (`/api/task/info/x/../../dashboard`);
 * - a percent-escaped unreserved character (`%2e`, `%61`): a normalising hop decodes it, Tornado
 *   does not, so the two would route different paths; no client needs one;
 * - an empty segment (`//`): nginx merges slashes when it matches locations, http-proxy (the sidecar)
 *   merges them on the way upstream, Tornado does not; neither Flower nor a browser makes one;
 * - `http:/` or `https:/` in the path: http-proxy rewrites it to `http://`;
 * - encoded slashes and backslashes (`%2F`, `%5C`), raw backslashes, control characters, a `#`, a
 *   malformed escape, and anything over 8 KiB.
 */

const MAX_PATH_LENGTH = 8192;
/** Anything that might be refused; a path without any of it is judged as it is (nearly every request). */
const SUSPECT = /[\\#%\x00-\x1f\x7f]|\/\/|\/\.\.?(?:\/|$)|https?:\//;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** The path (query dropped) rules are matched against, or null when it is ambiguous. */
export function judgedPath(uri: string): string | null {
  if (uri.length > MAX_PATH_LENGTH) return null;
  const q = uri.indexOf('?');
  const path = q === -1 ? uri : uri.slice(0, q);
  if (path.charCodeAt(0) !== 0x2f) return null;
  if (!SUSPECT.test(path)) return path;
  return ambiguity(path) === null ? path : null;
}

/** Why the path of `uri` is refused, in words for a person; null when it is not. */
export function ambiguity(uri: string): string | null {
  if (uri.length > MAX_PATH_LENGTH) return 'the path is longer than 8 KiB';
  const q = uri.indexOf('?');
  const path = q === -1 ? uri : uri.slice(0, q);
  if (!path.startsWith('/')) return 'the path must start with /';
  if (/[\\\x00-\x1f\x7f]/.test(path)) return 'a backslash or control character';
  if (path.includes('#')) return 'a # in the request target';
  if (path.includes('//')) return 'an empty segment (//)';
  if (/\/\.\.?(?:\/|$)/.test(path)) return 'a . or .. segment';
  if (/https?:\//.test(path)) return 'http:/ in the path';
  for (let i = path.indexOf('%'); i !== -1; i = path.indexOf('%', i + 1)) {
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return 'a malformed percent-escape';
    const code = Number.parseInt(hex, 16);
    if (code === 0x2f || code === 0x5c || code < 0x20 || code === 0x7f)
      return 'an encoded slash, backslash or control character';
    if (UNRESERVED.test(String.fromCharCode(code)))
      return `a percent-escaped unreserved character (%${hex} is ${String.fromCharCode(code)})`;
  }
  return null;
}

/**
 * Flower's own path for a judged request path under `--url_prefix` (`/flower/api/workers` →
 * `/api/workers`; `/flower` and `/flower/` → `/`), or null when the path is outside the prefix.
 * Rules are written against Flower's paths, so one policy serves every prefix and topology.
 */
export function flowerPath(path: string, prefix: string): string | null {
  if (prefix === '') return path;
  if (!path.startsWith(prefix)) return null;
  if (path.length === prefix.length) return '/';
  return path.charCodeAt(prefix.length) === 0x2f ? path.slice(prefix.length) : null;
}
