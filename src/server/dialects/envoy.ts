import { checkHost, checkUri, commonFields, type Extract, header, malformed, schemeOf } from './dialect.ts';

export const ENVOY_PREFIX = '/_flowergate/auth/envoy';

/**
 * Envoy HTTP ext_authz with `path_prefix: /_flowergate/auth/envoy`: the check request carries the
 * client's own method, Host and path behind the prefix. Cookie, Accept and X-Forwarded-Proto arrive
 * only when listed in allowed_headers.
 */
export const extractEnvoy: Extract = (request, trusted) => {
  const h = request.headers;
  const uri = checkUri(request.url.slice(ENVOY_PREFIX.length) || '/');
  const host = checkHost(header(h, 'host'));
  if (!host)
    return malformed('envoy', request, trusted, 'missing or invalid Host', request.method, null, uri);
  if (!uri)
    return malformed(
      'envoy',
      request,
      trusted,
      'missing or invalid original path behind the envoy prefix',
      request.method,
      host,
      null,
    );
  const scheme = schemeOf(header(h, 'x-forwarded-proto'), request.encrypted ? 'https' : 'http');
  return {
    ...commonFields('envoy', request, trusted),
    method: request.method.toUpperCase(),
    scheme,
    host,
    uri,
  };
};
