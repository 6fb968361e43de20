/**
 * Connection-specific fields (RFC 9110 §7.6.1) that describe one hop, never the message: a proxy
 * must not forward them. `Proxy-Connection` is the pre-standard spelling some clients still send;
 * `Proxy-Authenticate`/`-Authorization` answer and address the next proxy, which is us.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * A `Connection` token may name any field as hop-by-hop; these it may not take away, or the
 * message would lose its target or its framing (a client could otherwise strip `Host` or turn a
 * sized body into one without length).
 */
const ESSENTIAL = new Set(['host', 'content-length', 'content-type']);

/** The field names a `Connection` header lists (lower-cased), except the essential ones. */
export function connectionListed(value: string | string[] | undefined): Set<string> {
  const listed = new Set<string>();
  if (value === undefined) return listed;
  for (const part of Array.isArray(value) ? value : [value]) {
    for (const token of part.split(',')) {
      const name = token.trim().toLowerCase();
      if (name && !ESSENTIAL.has(name)) listed.add(name);
    }
  }
  return listed;
}
