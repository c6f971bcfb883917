import { peerIp } from './peer-ip';

it('takes the host of a transport address, IPv4, IPv6 or IPv4-mapped', () => {
  expect(peerIp('192.0.2.7:51234')).toBe('192.0.2.7');
  expect(peerIp('::ffff:127.0.0.1:8000')).toBe('::ffff:127.0.0.1');
  expect(peerIp('2001:db8::1:443')).toBe('2001:db8::1');
  expect(peerIp('[2001:db8::1]:443')).toBe('2001:db8::1');
  expect(peerIp('?:0')).toBe('?');
});
