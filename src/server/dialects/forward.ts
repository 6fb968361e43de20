import { checkHost, checkUri, commonFields, type Extract, header, schemeOf } from './dialect.ts';

/** Traefik ForwardAuth and Caddy forward_auth: X-Forwarded-Method/Proto/Host/Uri. */
export const extractForward: Extract = (request, trusted) => {
  const h = request.headers;
  const host = checkHost(header(h, 'x-forwarded-host'));
  const uri = checkUri(header(h, 'x-forwarded-uri'));
  if (!host) return 'missing or invalid X-Forwarded-Host';
  if (!uri) return 'missing or invalid X-Forwarded-Uri';
  const method = (header(h, 'x-forwarded-method') ?? request.method).toUpperCase();
  const scheme = schemeOf(header(h, 'x-forwarded-proto'), request.encrypted ? 'https' : 'http');
  return { ...commonFields('forward', request, trusted), method, scheme, host, uri };
};
