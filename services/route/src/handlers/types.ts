import type { Logger } from '@tiertalk/log';
import type { tiertalk } from '@tiertalk/proto';
import type { SessionStore } from '../session-store';

/** Where handlers send pushes: GatewayLinks in production. */
export interface PushSink {
  /** Queues one PushBatch for the gateway; false when the gateway is not live (nothing sent). */
  send(gatewayId: string, items: tiertalk.Push.$Properties[]): boolean;
}

export interface RouteDeps {
  store: SessionStore;
  links: PushSink;
  logger: Logger;
}
