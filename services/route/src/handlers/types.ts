import type { Logger } from '@tiertalk/log';
import type { tiertalk } from '@tiertalk/proto';
import type { OfflinePushSink } from '../push/offline-push';
import type { PushRequestSink } from '../push/push-service-link';
import type { SessionStore } from '../session-store';

/**
 * Told once per PushBatch sent with it, when that batch is finished: the
 * gateway acknowledged it, or the gateway left etcd (its clients reconnect
 * elsewhere and pull what they missed).
 */
export interface PushWaiter {
  batchDone(): void;
}

/** Where handlers send pushes: GatewayLinks in production. */
export interface PushSink {
  /**
   * Queues one PushBatch for the gateway, kept and resent until the gateway
   * acknowledges it; false when the gateway is not live (nothing sent, and
   * `waiter` is not called).
   */
  send(gatewayId: string, items: tiertalk.Push.$Properties[], waiter?: PushWaiter): boolean;
  /**
   * Every live gateway, named as its sessions name it (`<instanceId>@<epoch>`
   * when the epoch is known), for broadcasts (docs/FLOWS.md §5 presence,
   * IMSignInfoChangedNotify).
   */
  liveGateways(): string[];
  /**
   * docs/FLOWS.md §5: IMUserStatNotify{userId, status} to every desktop
   * connection on every live gateway except `origin`, coalesced per gateway
   * over a short interval (a user's latest status only). Returns the gateways
   * it is queued for.
   */
  notifyPcStatus(userId: number, status: number, origin?: PresenceOrigin): number;
}

/** The logging-in connection, left out of its own presence broadcast (its gateway tells it after the login response). */
export interface PresenceOrigin {
  /** As its session names it: `<instanceId>@<epoch>` or a bare instance id. */
  gatewayId: string;
  connId: number;
}

/** The session registry's readiness (src/registry-epoch.ts): false while it is being rebuilt after a loss. */
export interface RegistryReadiness {
  /** Resolves when lookups can be trusted again (bounded wait). */
  whenRegistryReady(): Promise<void>;
  /**
   * Counts the holds so far: a lookup that started under one value and ended
   * under another may have read a registry being lost or rebuilt.
   */
  readonly holds: number;
  /** The registry epoch lookups must find (undefined before the first check). */
  readonly epoch: string | undefined;
  /** Checks the epoch now: a lookup found a different one. */
  recheck(): void;
}

export interface RouteDeps {
  store: SessionStore;
  links: PushSink;
  logger: Logger;
  /** Offline-push webhook (src/push); absent when TT_PUSH_WEBHOOK_URL is unset. */
  offlinePush?: OfflinePushSink;
  /** The push service trigger (src/push/push-service-link.ts): every stored message with receivers without a session. */
  pushService?: PushRequestSink;
  /** Deliveries wait on it so they are not looked up in a registry being rebuilt; absent in tests. */
  registryReady?: RegistryReadiness;
}
