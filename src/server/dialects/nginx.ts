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
    const parsed = schemeAndHost(originalUrl);
    if (!parsed) return 'X-Original-URL is not an absolute URL';
    scheme = parsed.scheme;
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

// The shape nginx writes ($scheme://$host$request_uri) with a lower-case ASCII domain name: read
// directly, since a WHATWG URL parse is the costliest step of this dialect. IP addresses (URL()
// rewrites forms like 0x7f.1), punycode (URL() validates it) and anything else go through URL().
const PLAIN = /^(https?):\/\/((?:[a-z0-9-]*\.)*[a-z][a-z0-9-]*)(?::(\d{1,5}))?(?=[/?]|$)/;
const DEFAULT_PORT = { http: '80', https: '443' } as const;

/** The scheme and host (port kept unless it is the scheme's default) exactly as `new URL()` gives them. */
function schemeAndHost(url: string): { scheme: 'http' | 'https'; host: string } | null {
  const plain = PLAIN.exec(url);
  if (plain && !plain[2]!.includes('xn--')) {
    const scheme = plain[1] as 'http' | 'https';
    const port = plain[3];
    const host = plain[2]!;
    // URL() drops a default port and keeps a leading-zero one as its number; leave odd ports to it.
    if (port === undefined) return { scheme, host };
    if (port === DEFAULT_PORT[scheme]) return { scheme, host };
    if (port[0] !== '0' && Number(port) <= 65535) return { scheme, host: `${host}:${port}` };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  return { scheme: parsed.protocol === 'https:' ? 'https' : 'http', host: parsed.host };
}
