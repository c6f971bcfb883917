import type { Connection } from '../../conn/connection';
import type { GatewayContext } from '../../gateway-context';
import { sessionRef } from './session-ref';

/** docs/FLOWS.md §12 close processing: forget the connection; a logged-in one leaves route and the load. */
export function onConnectionClosed(ctx: GatewayContext, conn: Connection, reason: string): void {
  ctx.connections.remove(conn);
  if (!conn.loggedIn) return;
  ctx.load.changed();
  conn.log.info({ reason }, 'logged-in connection closed');
  // On shutdown route purges every session of this gateway when its etcd key goes.
  if (ctx.lifecycle.stopping) return;
  ctx.route.logout(sessionRef(ctx, conn)).catch((err: unknown) => conn.log.warn({ err }, 'route logout failed'));
}
