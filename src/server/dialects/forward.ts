import type { IncomingHttpHeaders } from 'node:http';
import {
  checkHost,
  checkMethod,
  checkUri,
  commonFields,
  type Extract,
  header,
  hostOfAbsolute,
  malformed,
  sameHost,
  schemeOf,
  uriOfAbsolute,
} from './dialect.ts';

/**
 * Traefik ForwardAuth and Caddy forward_auth (and Traefik's ingress-nginx provider, which turns
 * `auth-url` into a ForwardAuth): X-Forwarded-Method, -Proto, -Host and -Uri, the method required.
 * Both proxies also copy the client's own headers into the sub-request, so an X-Original-URL or
 * X-Original-Method naming a different path or method is a forgery (or a misconfiguration):
 * refused with `400`, never believed.
 */
export const extractForward: Extract = (request, trusted) => {
  const h = request.headers;
  const claimedMethod = header(h, 'x-forwarded-method');
  const claimedUri = header(h, 'x-forwarded-uri');
  const host = checkHost(header(h, 'x-forwarded-host'));
  const uri = checkUri(claimedUri);
  const method = checkMethod(claimedMethod);
  const problem = !method
    ? 'X-Forwarded-Method is missing or not an HTTP method'
    : !host
      ? 'X-Forwarded-Host is missing or invalid'
      : !uri
        ? 'X-Forwarded-Uri is missing or not a path'
        : conflict(h, method, uri, host);
  if (problem !== null || !method || !host || !uri)
    return malformed('forward', request, trusted, problem ?? '', claimedMethod, host, uri ?? claimedUri);
  const scheme = schemeOf(header(h, 'x-forwarded-proto'), request.encrypted ? 'https' : 'http');
  return { ...commonFields('forward', request, trusted), method, scheme, host, uri };
};

/** The other family's copy, when it names another path, method or host. */
function conflict(h: IncomingHttpHeaders, method: string, uri: string, host: string): string | null {
  const originalUrl = header(h, 'x-original-url');
  if (originalUrl !== undefined && uriOfAbsolute(originalUrl) !== uri)
    return 'X-Original-URL names another path';
  if (originalUrl !== undefined && !sameHost(hostOfAbsolute(originalUrl) ?? '', host))
    return 'X-Original-URL names another host';
  const originalMethod = header(h, 'x-original-method');
  if (originalMethod !== undefined && originalMethod.toUpperCase() !== method)
    return 'X-Original-Method names another method';
  return null;
}
