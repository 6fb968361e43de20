import { BlockList, isIP } from 'node:net';

/** A set of CIDRs (or single addresses), IPv4 and IPv6; IPv4-mapped IPv6 addresses match their IPv4 form. */
export interface NetworkSet {
  has(address: string): boolean;
}

export function parseNetworks(cidrs: readonly string[]): NetworkSet | string {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', bits] = cidr.split('/');
    const family = isIP(address);
    if (family === 0) return `${cidr} is not an IP address or CIDR`;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) {
      list.addAddress(address, type);
      continue;
    }
    const prefix = Number(bits);
    if (!/^\d+$/.test(bits) || prefix > (family === 4 ? 32 : 128))
      return `${cidr} has an invalid prefix length`;
    list.addSubnet(address, prefix, type);
  }
  return {
    has(address) {
      const plain =
        address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
      const family = isIP(plain);
      return family !== 0 && list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}
