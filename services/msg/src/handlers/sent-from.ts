import { clientClassOf, type tiertalk } from '@tiertalk/proto';
import type { Connection } from '../conn/connection';
import type { GatewayContext } from '../gateway-context';

/**
 * The Envelope fields that name the connection a client's action came from:
 * where it is (route never writes the PDU back to it) and its class, which
 * route carries onto the pushes and push requests (docs/ARCHITECTURE.md,
 * "The 1:1 message path").
 */
export function sentFrom(ctx: GatewayContext, conn: Connection): Pick<tiertalk.Envelope.$Properties, 'originGatewayId' | 'originConnId' | 'fromClientClass'> {
  return { originGatewayId: ctx.gatewayId, originConnId: conn.id, fromClientClass: clientClassOf(conn.clientType) };
}
