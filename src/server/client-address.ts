import type { NetworkSet } from '../policy/networks.ts';

/**
 * The client's address: the peer, unless the peer is a trusted proxy; then walk X-Forwarded-For
 * from the right and stop at the first hop that is not trusted. Taking the leftmost entry would let
 * any client choose its own address.
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | undefined,
  trusted: NetworkSet | null,
): string | null {
  const remote = peer ? stripMapped(peer) : null;
  if (!remote || !trusted || !forwardedFor || !trusted.has(remote)) return remote;
  const hops = forwardedFor
    .split(',')
    .slice(-32) // bounded work for a hostile header
    .map((hop) => stripMapped(hop.trim()));
  let candidate = remote;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (hop === '') break;
    candidate = hop;
    if (!trusted.has(hop)) break;
  }
  return candidate;
}

function stripMapped(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
