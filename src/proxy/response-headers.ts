import { connectionListed, HOP_BY_HOP } from './hop-by-hop.ts';

export interface ResponseHygiene {
  /** The upstream's origin (`http://127.0.0.1:5555`): absolute Locations to it are rewritten. */
  readonly upstream: URL;
  /** Django's session cookie: the upstream never saw it and may not overwrite it (that would log the user out). */
  readonly sessionCookieName: string;
}

export interface PublicSite {
  readonly scheme: 'http' | 'https';
  readonly host: string;
}

/**
 * The upstream's response headers as the client should see them, from `rawHeaders` (so order, case
 * and repeated `Set-Cookie` survive): hop-by-hop fields removed (Node frames the body again itself),
 * every `Access-Control-*` removed (Flower sends `Allow-Origin: *`, and the gate authenticates by
 * cookie, so no other origin may read its pages), a `Set-Cookie` for the Django session dropped, and
 * absolute `Location`/`Content-Location` URLs pointing at the upstream (or at the public host with
 * the wrong scheme) rewritten to the public origin. Relative ones are kept as they are.
 */
export function createResponseHygiene(options: ResponseHygiene) {
  const upstreamHost = options.upstream.host.toLowerCase();
  return (
    raw: readonly string[],
    site: PublicSite,
    extraHopByHop: string | string[] | undefined,
  ): string[] => {
    const listed = connectionListed(extraHopByHop);
    const publicHost = hostOf(site.scheme, site.host);
    const out: string[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!;
      let value = raw[i + 1]!;
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower) || listed.has(lower) || lower.startsWith('access-control-')) continue;
      if (lower === 'set-cookie' && setCookieName(value) === options.sessionCookieName) continue;
      if (lower === 'location' || lower === 'content-location') {
        value = rewriteLocation(value, [upstreamHost, publicHost], site);
      }
      out.push(name, value);
    }
    return out;
  };
}

export type ResponseHygieneFn = ReturnType<typeof createResponseHygiene>;

/** The cookie a Set-Cookie value sets, as browsers read it (RFC 6265 §5.2: up to the first `=`, trimmed). */
function setCookieName(value: string): string {
  const pair = value.split(';', 1)[0] ?? '';
  const eq = pair.indexOf('=');
  return eq === -1 ? '' : pair.slice(0, eq).trim();
}

const ABSOLUTE = /^(?:([a-z][a-z0-9+.-]*):)?\/\/([^/?#]*)(.*)$/is;

/** An absolute (or scheme-relative) URL on one of `hosts` becomes the same path on the public origin. */
export function rewriteLocation(value: string, hosts: readonly (string | null)[], site: PublicSite): string {
  const match = ABSOLUTE.exec(value);
  if (!match) return value;
  const [, scheme = site.scheme, authority = '', rest = ''] = match;
  const lowerScheme = scheme.toLowerCase();
  if ((lowerScheme !== 'http' && lowerScheme !== 'https') || authority.includes('@')) return value;
  const host = hostOf(lowerScheme, authority);
  if (host === null || !hosts.includes(host)) return value;
  // The path is kept byte for byte (no URL re-serialisation): only the origin changes.
  const path = rest === '' || rest.startsWith('?') || rest.startsWith('#') ? `/${rest}` : rest;
  return `${site.scheme}://${site.host}${path}`;
}

/** `host[:port]` normalised the way URL does (lower case, default port dropped); null if unparsable. */
function hostOf(scheme: string, authority: string): string | null {
  try {
    return new URL(`${scheme}://${authority}/`).host.toLowerCase();
  } catch {
    return null;
  }
}
