import test from 'ava';
import { type NetworkSet, parseNetworks } from '../../src/policy/networks.ts';
import { clientAddress } from '../../src/server/client-address.ts';

const trusted = parseNetworks(['10.0.0.0/8', '127.0.0.1', 'fd00::/8']) as NetworkSet;

test('without trusted proxies the peer is the client, whatever X-Forwarded-For claims', (t) => {
  t.is(clientAddress('203.0.113.9', '1.2.3.4', null), '203.0.113.9');
});
test('an untrusted peer cannot choose its address through X-Forwarded-For', (t) => {
  t.is(clientAddress('203.0.113.9', '10.1.1.1', trusted), '203.0.113.9');
});
test('walks from the right through trusted hops and stops at the first untrusted one', (t) => {
  // The leftmost entry is whatever the client sent; it must not win.
  t.is(clientAddress('10.0.0.5', '6.6.6.6, 198.51.100.7, 10.2.3.4', trusted), '198.51.100.7');
});
test('when every hop is trusted the leftmost is the client', (t) => {
  t.is(clientAddress('127.0.0.1', '10.9.9.9, 10.2.3.4', trusted), '10.9.9.9');
});
test('IPv4-mapped peers and IPv6 networks are understood', (t) => {
  t.is(clientAddress('::ffff:10.0.0.5', '192.0.2.1', trusted), '192.0.2.1');
  t.is(clientAddress('fd00::1', '2001:db8::7', trusted), '2001:db8::7');
});
test('malformed networks are reported', (t) => {
  t.is(typeof parseNetworks(['10.0.0.0/33']), 'string');
  t.is(typeof parseNetworks(['not-an-ip']), 'string');
});
