import type { AdmissionTicket } from './conn/admission';
import { Connection } from './conn/connection';
import type { Transport } from './conn/transport';
import type { Dispatcher } from './dispatcher';
import type { GatewayContext } from './gateway-context';
import { onConnectionClosed } from './handlers/login';

/** Turns an accepted socket (TCP or WebSocket) into a registered Connection. */
export function createClientAcceptor(ctx: GatewayContext, dispatcher: Dispatcher): (transport: Transport, ticket: AdmissionTicket) => void {
  const hooks = {
    onFrame: (conn: Connection, frame: Parameters<Dispatcher['dispatch']>[1]): void => dispatcher.dispatch(conn, frame),
    onClose: (conn: Connection, reason: string): void => onConnectionClosed(ctx, conn, reason),
    onRefused: (conn: Connection, reason: string, detail: Record<string, unknown>): void => ctx.refusals.refuse(reason, conn.offender, detail),
  };
  return (transport, ticket) => {
    if (ctx.lifecycle.stopping) {
      ticket.release();
      transport.destroy();
      return;
    }
    if (ctx.connections.size >= ctx.config.maxConn) {
      ctx.refusals.refuse('gateway_conn_limit', ticket.ipKey, { maxConn: ctx.config.maxConn });
      ticket.release();
      transport.destroy();
      return;
    }
    const conn = new Connection(transport, ctx.config.conn, hooks, ctx.log, ticket);
    ctx.connections.add(conn);
    if (ctx.log.isLevelEnabled('debug')) conn.log.debug({ remote: transport.remoteAddress, transport: transport.kind }, 'client connected');
  };
}
