import { Gauge, metricsRegistry } from '@tiertalk/metrics';
import { IM } from '@tiertalk/proto';
import type { ConnectionRegistry } from './connection-registry';

const { ClientType } = IM.BaseDefine;

// The client type is the client's claim in IMLoginReq: any other number is `other`, so the label stays bounded.
const CLIENT_TYPES: ReadonlyMap<number, string> = new Map([
  [ClientType.CLIENT_TYPE_WINDOWS, 'windows'],
  [ClientType.CLIENT_TYPE_MAC, 'mac'],
  [ClientType.CLIENT_TYPE_IOS, 'ios'],
  [ClientType.CLIENT_TYPE_ANDROID, 'android'],
]);

/** `none` before a login request named one. */
export function clientTypeLabel(clientType: number): string {
  if (clientType === 0) return 'none';
  return CLIENT_TYPES.get(clientType) ?? 'other';
}

// The registries of the gateways in this process (one, or several in in-process tests).
const sources = new Set<ConnectionRegistry>();

// Counted at scrape time: nothing to keep in step on every state change.
new Gauge({
  name: 'tt_msg_connections_open',
  help: 'Client connections open on this gateway, by transport (tcp, tls, ws) and client type (none before login)',
  labelNames: ['transport', 'client_type'] as const,
  registers: [metricsRegistry],
  collect() {
    this.reset();
    for (const registry of sources) {
      for (const conn of registry.all()) this.inc({ transport: conn.transport.kind, client_type: clientTypeLabel(conn.clientType) });
    }
  },
});

/** Counts the registry's connections in tt_msg_connections_open until the returned function is called. */
export function exportConnectionCounts(registry: ConnectionRegistry): () => void {
  sources.add(registry);
  return () => sources.delete(registry);
}
