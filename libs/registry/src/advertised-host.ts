import { hostname } from 'node:os';

/** The host to publish for a listener: a wildcard bind address means nothing to others, so the host name instead. */
export function advertisedHost(bindHost: string): string {
  return bindHost === '0.0.0.0' || bindHost === '::' ? hostname() : bindHost;
}
