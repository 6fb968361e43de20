import { checkHost, checkUri, commonFields, type Extract, header, schemeOf } from './dialect.ts';

/**
 * ingress-nginx `auth-url` / nginx `auth_request`: the controller sets X-Original-URL and
 * X-Original-Method itself. Traefik's ingress-nginx compatibility mode sends X-Forwarded-* to the
 * same URL instead, so those are the fallback.
 */
export const extractNginx: Extract = (request, trusted) => {
  const h = request.headers;
  const originalUrl = header(h, 'x-original-url');
  let scheme: 'http' | 'https';
  let host: string | null;
  let uri: string | null;
  if (originalUrl) {
    let parsed: URL;
    try {
      parsed = new URL(originalUrl);
    } catch {
      return 'X-Original-URL is not an absolute URL';
    }
    scheme = parsed.protocol === 'https:' ? 'https' : 'http';
    host = checkHost(parsed.host);
    // Keep the raw path: URL() would already have resolved dot segments the upstream may not.
    const afterAuthority = originalUrl.slice(originalUrl.indexOf('//') + 2);
    const slash = afterAuthority.indexOf('/');
    uri = checkUri(slash === -1 ? '/' : afterAuthority.slice(slash));
  } else {
    scheme = schemeOf(header(h, 'x-forwarded-proto'), request.encrypted ? 'https' : 'http');
    host = checkHost(header(h, 'x-forwarded-host'));
    uri = checkUri(header(h, 'x-original-uri') ?? header(h, 'x-forwarded-uri'));
  }
  if (!host) return 'missing or invalid original host (X-Original-URL or X-Forwarded-Host)';
  if (!uri) return 'missing or invalid original URI (X-Original-URL or X-Forwarded-Uri)';
  const method = (header(h, 'x-original-method') ?? header(h, 'x-forwarded-method') ?? 'GET').toUpperCase();
  return { ...commonFields('nginx', request, trusted), method, scheme, host, uri };
};
