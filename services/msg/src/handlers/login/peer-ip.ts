/** The IP of a transport's "host:port" remote address (IPv6 hosts contain colons, the port is after the last). */
export function peerIp(remoteAddress: string): string {
  const colon = remoteAddress.lastIndexOf(':');
  const host = colon < 0 ? remoteAddress : remoteAddress.slice(0, colon);
  return host.replace(/^\[(.*)\]$/, '$1');
}
