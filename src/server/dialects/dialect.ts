import type { IncomingHttpHeaders } from 'node:http';
import type { Dialect } from '../../decision/labels.ts';
import type { OriginalRequest } from '../../decision/request.ts';
import { djangoDomain } from '../../policy/allowed-hosts.ts';
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

/**
 * A sub-request that does not say completely and consistently what it is for: refused with `400`,
 * reason `bad_request`. `request` holds what could be read, for the metric and the audit line.
 */
export interface Malformed {
  readonly malformed: string;
  readonly request: OriginalRequest;
}

export type Extract = (request: SubRequest, trusted: NetworkSet | null) => OriginalRequest | Malformed;

export function isMalformed<T extends object>(value: T | Malformed): value is Malformed {
  return 'malformed' in value;
}

/** A Malformed answer naming `detail`, with whatever the headers claimed. */
export function malformed(
  dialect: Dialect,
  request: SubRequest,
  trusted: NetworkSet | null,
  detail: string,
  method: string | undefined,
  host: string | null | undefined,
  uri: string | null | undefined,
): Malformed {
  return {
    malformed: detail,
    request: {
      ...commonFields(dialect, request, trusted),
      method: method?.toUpperCase() ?? '',
      scheme: request.encrypted ? 'https' : 'http',
      host: host ?? '',
      uri: uri ?? '',
    },
  };
}

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
    websocket: isWebSocket(h.upgrade, h['sec-websocket-key']),
  };
}

/**
 * A WebSocket handshake: `Upgrade: websocket`, or a `Sec-WebSocket-Key` — an end-to-end header, so it
 * reaches the sub-request where a proxy drops the hop-by-hop `Upgrade` (nginx's auth_request does).
 */
export function isWebSocket(upgrade: string | undefined, key: string | string[] | undefined): boolean {
  if (key !== undefined) return true;
  return upgrade !== undefined && upgrade.length === 9 && upgrade.toLowerCase() === 'websocket';
}

/** An HTTP method as a proxy names it (letters only, as policy rules name them), upper-cased; else null. */
export function checkMethod(value: string | undefined): string | null {
  if (value === 'GET' || value === 'POST' || value === 'HEAD') return value; // nearly every sub-request
  if (!value || value.length > 16 || !/^[A-Za-z]+$/.test(value)) return null;
  return value.toUpperCase();
}

/**
 * The path-and-query of an absolute http(s) URL as written (no dot-segment resolution), '/' when it
 * has none, or null when the authority is followed by anything but a path.
 */
export function uriOfAbsolute(url: string): string | null {
  const start = url.indexOf('//');
  if (start === -1) return null;
  for (let i = start + 2; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 0x2f) return url.slice(i); // '/'
    if (c === 0x3f || c === 0x23) return null; // '?' or '#' straight after the host: nginx never writes it
  }
  return '/';
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

/**
 * Whether two Host values name the same host as rules and ALLOWED_HOSTS see it (case, port and a
 * trailing dot aside); an invalid one names none.
 */
export function sameHost(a: string, b: string): boolean {
  const domain = djangoDomain(a);
  return domain !== '' && domain === djangoDomain(b);
}

/** The host (and port) of an absolute http(s) URL, or null. Only for the rare cross-family check. */
export function hostOfAbsolute(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.host : null;
  } catch {
    return null;
  }
}
