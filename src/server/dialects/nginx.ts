import type { IncomingHttpHeaders } from 'node:http';
import {
  checkHost,
  checkMethod,
  checkUri,
  commonFields,
  type Extract,
  header,
  malformed,
  sameHost,
  uriOfAbsolute,
} from './dialect.ts';

/**
 * ingress-nginx `auth-url` / nginx `auth_request`: exactly X-Original-URL and X-Original-Method,
 * both required (the controller always sets both; every recipe in the README does). No fall-back to
 * another family and no default method: a proxy that copies the client's headers (Caddy, a plain
 * `auth_request` block) would otherwise let the client say what is being asked for. When another
 * family's copy (X-Original-URI, X-Forwarded-Uri, X-Forwarded-Method) names a different path or
 * method, one of them is forged or the proxy is misconfigured: refused with `400`.
 */
export const extractNginx: Extract = (request, trusted) => {
  const h = request.headers;
  const originalUrl = header(h, 'x-original-url');
  const claimedMethod = header(h, 'x-original-method');
  const parsed = originalUrl ? schemeAndHost(originalUrl) : null;
  const host = parsed ? checkHost(parsed.host) : null;
  const uri = parsed ? checkUri(uriOfAbsolute(originalUrl!) ?? undefined) : null;
  const method = checkMethod(claimedMethod);
  const problem = !originalUrl
    ? 'X-Original-URL is missing'
    : !parsed || !host || !uri
      ? 'X-Original-URL is not an absolute http(s) URL with a path'
      : !method
        ? 'X-Original-Method is missing or not an HTTP method'
        : conflict(h, method, uri, host);
  if (problem !== null || !parsed || !host || !uri || !method)
    return malformed('nginx', request, trusted, problem ?? '', claimedMethod, host, uri ?? originalUrl);
  return { ...commonFields('nginx', request, trusted), method, scheme: parsed.scheme, host, uri };
};

/**
 * Another family's copy, when it names another path, method or host. X-Forwarded-Host is compared only
 * next to X-Forwarded-Method or -Uri: then a forward-family proxy (Caddy, Traefik) set all three and
 * X-Original-URL is the client's; alone it may be a CDN's (ingress-nginx passes the client's headers).
 */
function conflict(h: IncomingHttpHeaders, method: string, uri: string, host: string): string | null {
  const originalUri = header(h, 'x-original-uri');
  if (originalUri !== undefined && originalUri !== uri) return 'X-Original-URI names another path';
  const forwardedUri = header(h, 'x-forwarded-uri');
  if (forwardedUri !== undefined && forwardedUri !== uri) return 'X-Forwarded-Uri names another path';
  const forwardedMethod = header(h, 'x-forwarded-method');
  if (forwardedMethod !== undefined && forwardedMethod.toUpperCase() !== method)
    return 'X-Forwarded-Method names another method';
  const forwardedHost = header(h, 'x-forwarded-host');
  if (
    forwardedHost !== undefined &&
    (forwardedUri !== undefined || forwardedMethod !== undefined) &&
    !sameHost(forwardedHost, host)
  )
    return 'X-Forwarded-Host names another host';
  return null;
}

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
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return null;
  return { scheme: parsed.protocol === 'https:' ? 'https' : 'http', host: parsed.host };
}
