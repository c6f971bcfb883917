import type { tiertalk } from '@tiertalk/proto';
import type { Connection } from '../../conn/connection';
import type { GatewayContext } from '../../gateway-context';

/** The route's handle on one logged-in connection. */
export function sessionRef(ctx: GatewayContext, conn: Connection): tiertalk.SessionRef.$Properties {
  return { gatewayId: ctx.gatewayId, connId: conn.id, userId: conn.userId, clientType: conn.clientType };
}
