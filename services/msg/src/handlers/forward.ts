import type * as grpc from '@grpc/grpc-js';
import type { Frame } from '@tiertalk/pdu';
import { errorCodeOf } from '@tiertalk/rpc';
import type { Connection } from '../conn/connection';
import { on } from '../dispatcher';
import type { Handler } from '../dispatcher';
import type { GatewayContext } from '../gateway-context';

/** A client request PDU that names its sender (`user_id`, overwritten here) and may carry `attach_data`. */
interface UserRequest {
  userId: number;
  attachData?: Uint8Array | null;
}

interface ForwardOptions<Req extends UserRequest, Res> {
  /** The typed DbProxy method carrying this PDU. */
  method: grpc.MethodDefinition<Req, Res>;
  /** Command id of the reply PDU sent back to the client. */
  replyCid: number;
  /** Encodes the reply for the client (attach_data is never set on it: docs/FLOWS.md §14 F8). */
  encodeReply(res: Res): Uint8Array;
  /** Checks or completes the request; returning a string refuses it (logged, no reply). */
  prepare?(req: Req, conn: Connection): string | undefined;
  /** After the reply went to the client: notifications to the user's other devices etc. */
  after?(ctx: GatewayContext, conn: Connection, req: Req, res: Res): void;
}

/**
 * TeamTalk's "C→M→D, D→M→C relay to origin" (docs/PROTOCOL.md §4): the gateway
 * overwrites `user_id` with the connection's user (clients are never trusted
 * to say who they are), drops `attach_data`, asks db-proxy, and answers the
 * connection that asked with the request's seq_num, if it is still open.
 */
export function forwardToDbProxy<Req extends UserRequest, Res extends { attachData?: Uint8Array | null }>(opts: ForwardOptions<Req, Res>) {
  return async (ctx: GatewayContext, conn: Connection, req: Req, frame: Frame): Promise<void> => {
    req.userId = conn.userId;
    req.attachData = null;
    const refused = opts.prepare?.(req, conn);
    if (refused !== undefined) {
      ctx.refusals.refuse('request_refused', conn.offender, { cid: frame.commandId, seq: frame.seqNum, why: refused });
      return;
    }
    let res: Res;
    try {
      res = await ctx.db.call(opts.method, req);
    } catch (err) {
      // TeamTalk has no error reply for these: the client's request times out.
      conn.log.warn({ cid: frame.commandId, seq: frame.seqNum, code: errorCodeOf(err), err }, 'db-proxy request failed');
      return;
    }
    res.attachData = null;
    if (!conn.isClosed) conn.sendPdu(opts.replyCid, frame.seqNum, opts.encodeReply(res));
    opts.after?.(ctx, conn, req, res);
  };
}

interface PduType<T> {
  decode(body: Uint8Array): T;
}
interface ReplyType<T> {
  encode(message: T): { finish(): Uint8Array };
}

/**
 * A handler-table entry for a plain relay: decode the request PDU, forward it
 * with `method`, answer with the reply PDU under `replyCid`.
 */
export function relay<Req extends UserRequest, Res extends { attachData?: Uint8Array | null }>(
  request: PduType<NoInfer<Req>>,
  method: grpc.MethodDefinition<Req, Res>,
  replyCid: number,
  reply: ReplyType<NoInfer<Res>>,
  more: Pick<ForwardOptions<Req, Res>, 'prepare' | 'after'> = {},
): Handler<Req> {
  return on(request.decode, forwardToDbProxy({ method, replyCid, encodeReply: (res) => reply.encode(res).finish(), ...more }));
}
