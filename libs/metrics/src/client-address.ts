import ipaddr from 'ipaddr.js';

/**
 * The unit per-address limits, lockout counters and refusal logs count a
 * client under: its IPv4 address (an IPv4-mapped IPv6 address is its IPv4
 * address), or the /64 of an IPv6 address, since one host is normally given
 * a whole /64. undefined for a missing or invalid address.
 */
export function clientAddressKey(raw: string | null | undefined): string | undefined {
  if (!raw || raw.length > 64 || !ipaddr.isValid(raw)) return undefined;
  const addr = ipaddr.process(raw);
  if (addr.kind() === 'ipv4') return addr.toString();
  const parts = (addr as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16));
  return `${parts.join(':')}::/64`;
}
