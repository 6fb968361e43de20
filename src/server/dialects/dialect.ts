import type { IncomingHttpHeaders } from 'node:http';
import type { Dialect } from '../../decision/labels.ts';
import type { OriginalRequest } from '../../decision/request.ts';
import type { NetworkSet } from '../../policy/networks.ts';
import { clientAddress } from '../client-address.ts';
import { requestId } from '../request-id.ts';

/** What every dialect sees of the sub-request flowergate received. */
export interface SubRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly peer: string | undefined;
  readonly encrypted: boolean;
}

export type Extract = (request: SubRequest, trusted: NetworkSet | null) => OriginalRequest | string;

export const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** Bounded: a header longer than this is treated as absent-and-wrong, never parsed. */
const MAX_URI = 8192;

/** Fields every dialect fills the same way from the sub-request's own headers. */
export function commonFields(
  dialect: Dialect,
  request: SubRequest,
  trusted: NetworkSet | null,
): Omit<OriginalRequest, 'method' | 'scheme' | 'host' | 'uri'> {
  const h = request.headers;
  return {
    dialect,
    requestId: requestId(header(h, 'x-request-id')),
    client: clientAddress(request.peer, header(h, 'x-forwarded-for'), trusted),
    cookie: h.cookie,
    authorization: header(h, 'authorization'),
    accept: header(h, 'accept'),
    xRequestedWith: header(h, 'x-requested-with'),
    origin: header(h, 'origin'),
    referer: header(h, 'referer'),
  };
}

export function schemeOf(value: string | undefined, fallback: 'http' | 'https'): 'http' | 'https' {
  const first = value?.split(',')[0]?.trim().toLowerCase();
  return first === 'https' ? 'https' : first === 'http' ? 'http' : fallback;
}

export function checkUri(uri: string | undefined): string | null {
  if (!uri || uri.length > MAX_URI || !uri.startsWith('/')) return null;
  return uri;
}

/** RFC 3986 reg-name, IPv4 or [IPv6], optional port: anything else cannot be a Host we redirect to. */
export function checkHost(host: string | undefined): string | null {
  if (!host || host.length > 255) return null;
  return /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(host) ? host : null;
}
