import { djangoDomain, type HostCheck } from '../policy/allowed-hosts.ts';

/**
 * Accepts a `next`/`rd` target only when it is an absolute http(s) URL on an allowed host, or a
 * plain absolute path (which stays on the current host). Refuses `//evil.example`, `/\evil`,
 * `javascript:`, userinfo tricks, control characters and encoded variants of these. The request's
 * own host is allowed only when `ownHost` (FLOWERGATE_ALLOWED_HOSTS) lets it through: a Host header
 * (or X-Forwarded-Host) is what the client says, so unchecked it would make any host a target.
 */
export function createRedirectCheck(
  allowedHosts: readonly string[],
  ownHost: HostCheck | null,
): (target: string, currentHost: string) => string | null {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const host of allowedHosts.map((h) => h.toLowerCase())) {
    if (host.startsWith('*.')) suffixes.push(host.slice(1));
    else exact.add(host);
  }
  const allowed = (host: string) => exact.has(host) || suffixes.some((suffix) => host.endsWith(suffix));

  return (target, currentHost) => {
    if (target.length > 4096) return null;
    if (/[\\\x00-\x20\x7f]/.test(target)) return null;
    let decoded: string;
    try {
      decoded = decodeURIComponent(target);
    } catch {
      return null;
    }
    if (/[\\\x00-\x1f\x7f]/.test(decoded) || decoded.startsWith('//') || decoded.startsWith('/\\'))
      return null;
    if (target.startsWith('/')) return target.startsWith('//') ? null : target;
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return null;
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) return null;
    const host = url.hostname.toLowerCase();
    const own = ownHost?.(currentHost) === true && host === djangoDomain(currentHost);
    if (!own && !allowed(host)) return null;
    return url.href;
  };
}
