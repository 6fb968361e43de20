import type { OriginalRequest } from './request.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * Flower has no CSRF protection, so a cookie-authenticated unsafe request — or WebSocket handshake,
 * which browsers open cross-site without CORS — must come from the page's own origin (or a trusted
 * one): `Origin`, else `Referer`, must match. Browsers send `Origin` on every cross-site and same-site
 * POST, so a request with neither is not a browser form we trust. `Origin: null` (a sandboxed frame, a
 * redirect across origins, a file: page) is cross-site, with no fall-back to `Referer`, as Django's
 * CsrfViewMiddleware treats it.
 */
export function createCsrfGuard(trustedOrigins: readonly string[]): (request: OriginalRequest) => boolean {
  const trusted = new Set(trustedOrigins.map((origin) => new URL(origin).origin));
  return (request) => {
    if (SAFE_METHODS.has(request.method) && !request.websocket) return true;
    if (request.origin === 'null') return false;
    const own = originOf(`${request.scheme}://${request.host}`);
    const claimed = request.origin ? request.origin : originOf(request.referer);
    if (!claimed) return false;
    const origin = originOf(claimed);
    return origin !== null && ((own !== null && origin === own) || trusted.has(origin));
  };
}

function originOf(url: string | undefined): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.origin : null;
  } catch {
    return null;
  }
}
