import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { isEncodedHeaderValue } from '../server/header-value.ts';
import { withoutCookies } from './cookies.ts';
import { connectionListed, HOP_BY_HOP } from './hop-by-hop.ts';
import type { Forwarded } from './original-request.ts';

export interface RequestHygiene {
  /** The Django session cookie and `proxy.stripCookies`: credentials the upstream must never see. */
  readonly dropCookies: ReadonlySet<string>;
  /** The configured identity header names (`headers.user/email/groups`). */
  readonly identityNames: readonly string[];
  /**
   * Service-account token auth is on: an `Authorization: Bearer` header is a credential for flowergate,
   * never for Flower, even where it was not used (a public path, a request that also had a session).
   */
  readonly dropBearer: boolean;
}

export interface OutgoingFacts {
  readonly method: string;
  readonly forwarded: Forwarded;
  /** The client address after walking trusted proxies (what X-Real-IP carries). */
  readonly client: string | null;
  /** Our identity headers for the allowed principal, as identityHeaders() encodes them; empty for public paths. */
  readonly identity: Readonly<Record<string, string>>;
  /** Drop `Authorization`: it carried the service-account token flowergate consumed. */
  readonly dropAuthorization: boolean;
  /** A WebSocket handshake keeps `Connection: Upgrade` and `Upgrade: websocket`. */
  readonly websocket: boolean;
}

/** Forwarding headers a client may only set through a trusted proxy. */
const FORWARDING = new Set([
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-forwarded-server',
  'x-real-ip',
]);

/** Underscores and dashes are the same to WSGI/CGI servers (`HTTP_X_AUTH_REQUEST_USER`), so compare both spellings. */
const canonical = (name: string) => name.toLowerCase().replaceAll('_', '-');

/**
 * Identity headers other proxies set (Apache's and nginx's `Remote-User`, oauth2-proxy's, Authelia's,
 * Traefik plugins'): an app behind Flower, or Flower's own plugins, may believe one, so a client's copy
 * never passes, whatever names flowergate itself is configured to send.
 */
export const COMMON_IDENTITY_HEADERS: readonly string[] = [
  'remote-user',
  'x-remote-user',
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-preferred-username',
  'x-forwarded-groups',
  'x-forwarded-access-token',
  'x-auth-request-user',
  'x-auth-request-email',
  'x-auth-request-preferred-username',
  'x-auth-request-groups',
  'x-auth-request-access-token',
];

/**
 * The headers the upstream receives, built from the client's: hop-by-hop fields (and the ones
 * `Connection` lists) removed, the session cookie and configured cookies removed, client-sent
 * identity headers (the configured names and COMMON_IDENTITY_HEADERS, either spelling) removed and ours set, X-Forwarded-* set from what we know and believed only from
 * trusted proxies. `Host` is kept: the upstream sees the public host, as behind nginx.
 */
export function createRequestHygiene(options: RequestHygiene) {
  const identity = new Set([...options.identityNames, ...COMMON_IDENTITY_HEADERS].map(canonical));
  return (incoming: IncomingHttpHeaders, facts: OutgoingFacts): OutgoingHttpHeaders => {
    const listed = connectionListed(incoming.connection);
    const { forwarded } = facts;
    const out: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(incoming)) {
      if (value === undefined) continue;
      // Node re-frames the body itself: `chunked` (the only coding framingRefusal() lets in) stays so it chunks
      // again, written by us rather than copied, and nothing can add a second framing.
      if (name === 'transfer-encoding') {
        out[name] = 'chunked';
        continue;
      }
      if (HOP_BY_HOP.has(name) || listed.has(name) || identity.has(canonical(name))) continue;
      // Node already answered `100 Continue` to the client; the upstream gets the body without waiting.
      if (name === 'expect') continue;
      // Tornado's xheaders mode prefers X-Scheme over X-Forwarded-Proto: never let a client choose it.
      if (name === 'x-scheme') continue;
      if (FORWARDING.has(name) && !forwarded.trustedPeer) continue;
      if (name === 'authorization' && (facts.dropAuthorization || (options.dropBearer && isBearer(value))))
        continue;
      out[name] = value;
    }

    const cookie = withoutCookies(incoming.cookie, options.dropCookies);
    if (cookie === undefined) delete out.cookie;
    else out.cookie = cookie;

    // A body-less DELETE/OPTIONS gets an explicit empty body (what http-proxy's own pass did, safely).
    if (
      (facts.method === 'DELETE' || facts.method === 'OPTIONS') &&
      !incoming['content-length'] &&
      !incoming['transfer-encoding']
    ) {
      out['content-length'] = '0';
    }

    const peer = forwarded.peer ?? '';
    const previous = forwarded.trustedPeer ? incoming['x-forwarded-for'] : undefined;
    out['x-forwarded-for'] = previous ? `${previous}, ${peer}` : peer;
    out['x-forwarded-proto'] = forwarded.scheme;
    out['x-forwarded-host'] = forwarded.host;
    if (facts.client) out['x-real-ip'] = facts.client;
    else delete out['x-real-ip'];

    if (facts.websocket) {
      out.connection = 'Upgrade';
      out.upgrade = 'websocket';
    }
    // Already encoded by identityHeaders(); checked again so nothing unencoded can reach Node's writer (which
    // would throw mid-request) or the upstream.
    for (const [name, value] of Object.entries(facts.identity))
      if (isEncodedHeaderValue(value)) out[name.toLowerCase()] = value;
    return out;
  };
}

const isBearer = (value: string | string[]) => /^\s*bearer\s/i.test(String(value));

export type RequestHygieneFn = ReturnType<typeof createRequestHygiene>;
