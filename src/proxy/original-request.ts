import type { IncomingMessage } from 'node:http';
import type { OriginalRequest } from '../decision/request.ts';
import type { NetworkSet } from '../policy/networks.ts';
import {
  checkHost,
  commonFields,
  header,
  type Malformed,
  malformed,
  schemeOf,
} from '../server/dialects/dialect.ts';

/** Who sent the request and where the browser thinks it is, believing forwarded headers only from trusted proxies. */
export interface Forwarded {
  /** The TCP peer (IPv4-mapped addresses unwrapped); null if the socket is already gone. */
  readonly peer: string | null;
  /** Whether the peer is one of `trustedProxies`, so its X-Forwarded-* headers count. */
  readonly trustedPeer: boolean;
  readonly scheme: 'http' | 'https';
  /** The public Host (with port, if any) as the browser sent it. */
  readonly host: string;
}

/**
 * The proxy dialect: the original request is the request itself, its target forwarded byte for byte
 * as judged. `websocket` is the server's word that this is an upgrade, so the CSRF guard holds the
 * handshake to the unsafe-method rule. Malformed says why it cannot be proxied (400, `bad_request`).
 */
export function proxyRequest(
  req: IncomingMessage,
  trusted: NetworkSet | null,
  websocket = false,
): { original: OriginalRequest; forwarded: Forwarded } | Malformed {
  const url = req.url ?? '';
  const peerRaw = req.socket.remoteAddress;
  const peer = peerRaw ? unmapped(peerRaw) : null;
  const trustedPeer = peer !== null && trusted?.has(peer) === true;
  const encrypted = 'encrypted' in req.socket && Boolean(req.socket.encrypted);
  const sub = { method: req.method ?? '', url, headers: req.headers, peer: peerRaw, encrypted };
  // Origin-form only: an absolute-form or `*` target would reach the upstream unlike the path the policy saw.
  if (!url.startsWith('/') || url.startsWith('//'))
    return malformed(
      'proxy',
      sub,
      trusted,
      'the request target must be a path',
      req.method,
      req.headers.host,
      url,
    );
  const own = encrypted ? 'https' : 'http';
  const forwardedHost = trustedPeer
    ? checkHost(header(req.headers, 'x-forwarded-host')?.split(',')[0]?.trim())
    : null;
  const host = forwardedHost ?? checkHost(req.headers.host);
  if (!host) return malformed('proxy', sub, trusted, 'missing or invalid Host header', req.method, null, url);
  const scheme = trustedPeer ? schemeOf(header(req.headers, 'x-forwarded-proto'), own) : own;
  const method = (req.method ?? 'GET').toUpperCase();
  const common = commonFields('proxy', sub, trusted);
  return {
    original: { ...common, method, scheme, host, uri: url, websocket },
    forwarded: { peer, trustedPeer, scheme, host },
  };
}

function unmapped(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
