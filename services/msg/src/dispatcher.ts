import { commandName, CID } from '@tiertalk/proto';
import type { Frame } from '@tiertalk/pdu';
import type { Connection } from './conn/connection';
import type { GatewayContext } from './gateway-context';

/**
 * One handler per command. Method syntax on purpose: a Handler<IMMsgData> can
 * sit in a table of Handler<unknown>, and `on()` checks decode and run agree.
 */
export interface Handler<T> {
  decode(body: Uint8Array): T;
  run(ctx: GatewayContext, conn: Connection, msg: T, frame: Frame): void | Promise<void>;
}

/** Keyed by command id alone: TeamTalk dispatches on command_id, the service id is informational (protocol.md §1). */
export type HandlerTable = Readonly<Record<number, Handler<unknown>>>;

export function on<T>(
  decode: (body: Uint8Array) => T,
  run: (ctx: GatewayContext, conn: Connection, msg: T, frame: Frame) => void | Promise<void>,
): Handler<T> {
  return { decode, run };
}

// flows.md §2 Weakness: TeamTalk processes most commands before login; we ignore
// everything but these until the login succeeds.
const ALLOWED_BEFORE_LOGIN: ReadonlySet<number> = new Set([CID.CID_OTHER_HEARTBEAT, CID.CID_LOGIN_REQ_USERLOGIN]);

const SLOW_HANDLER_MS = 2000;

/**
 * The only place that decodes bodies, enforces the auth state, times handlers
 * and catches their errors (style.md, handlers).
 */
export class Dispatcher {
  private readonly handlers = new Map<number, Handler<unknown>>();

  constructor(
    private readonly ctx: GatewayContext,
    tables: readonly HandlerTable[],
  ) {
    for (const table of tables) {
      for (const [key, handler] of Object.entries(table)) {
        const cid = Number(key);
        if (this.handlers.has(cid)) throw new Error(`duplicate handler for ${commandName(cid)}`);
        this.handlers.set(cid, handler);
      }
    }
  }

  /** Command ids with a handler (for logs and tests). */
  get commandIds(): number[] {
    return [...this.handlers.keys()];
  }

  dispatch(conn: Connection, frame: Frame): void {
    const { serviceId: sid, commandId: cid, seqNum: seq } = frame;
    if (conn.isClosed) return;
    const handler = this.handlers.get(cid);
    if (!handler) {
      // protocol.md §1: unknown command ids are logged and ignored.
      conn.log.info({ sid, cid, seq, command: commandName(cid) }, 'unknown command ignored');
      return;
    }
    if (!conn.isOpen && !ALLOWED_BEFORE_LOGIN.has(cid)) {
      conn.log.info({ sid, cid, seq, command: commandName(cid), state: conn.state }, 'command before login ignored');
      return;
    }
    let msg: unknown;
    try {
      msg = handler.decode(frame.body);
    } catch (err) {
      // protocol.md §1: a body that fails to parse is dropped, the connection stays open.
      conn.log.warn({ sid, cid, seq, command: commandName(cid), bodyBytes: frame.body.length, err: errText(err) }, 'undecodable body dropped');
      return;
    }
    const started = Date.now();
    const failed = (err: unknown): void => {
      conn.log.error({ err, sid, cid, seq, command: commandName(cid), userId: conn.userId }, 'handler failed');
    };
    try {
      const result = handler.run(this.ctx, conn, msg, frame);
      if (result instanceof Promise) {
        const work = result.then(
          () => {
            const ms = Date.now() - started;
            if (ms >= SLOW_HANDLER_MS) conn.log.warn({ cid, seq, command: commandName(cid), ms }, 'slow handler');
          },
          failed,
        );
        conn.trackWork(work);
      }
    } catch (err) {
      failed(err);
    }
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
