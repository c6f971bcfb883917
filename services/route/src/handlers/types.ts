import type { Logger } from '@tiertalk/log';
import type { tiertalk } from '@tiertalk/proto';
import type { OfflinePushSink } from '../push/offline-push';
import type { SessionStore } from '../session-store';

/** Where handlers send pushes: GatewayLinks in production. */
export interface PushSink {
  /** Queues one PushBatch for the gateway; false when the gateway is not live (nothing sent). */
  send(gatewayId: string, items: tiertalk.Push.$Properties[]): boolean;
  /**
   * Every live gateway, named as its sessions name it (`<instanceId>@<epoch>`
   * when the epoch is known), for broadcasts (flows.md §5 presence,
   * IMSignInfoChangedNotify).
   */
  liveGateways(): string[];
}

/** The session registry's readiness (src/registry-epoch.ts): false while it is being rebuilt after a loss. */
export interface RegistryReadiness {
  /** Resolves when lookups can be trusted again (bounded wait). */
  whenRegistryReady(): Promise<void>;
}

export interface RouteDeps {
  store: SessionStore;
  links: PushSink;
  logger: Logger;
  /** Offline-push webhook (src/push); absent when TT_PUSH_WEBHOOK_URL is unset. */
  offlinePush?: OfflinePushSink;
  /** Deliveries wait on it so they are not looked up in a registry being rebuilt; absent in tests. */
  registryReady?: RegistryReadiness;
}
