import { commandName, CID } from '@tiertalk/proto';
import type { Frame } from '@tiertalk/pdu';
import type { Connection } from './conn/connection';
import type { GatewayContext } from './gateway-context';
import { RequestGuard } from './limits/request-guard';
import { UserRateLimits } from './limits/user-rate';

/**
 * One handler per command. Method syntax on purpose: a Handler<IMMsgData> can
 * sit in a table of Handler<unknown>, and `on()` checks decode and run agree.
 */
export interface Handler<T> {
  decode(body: Uint8Array): T;
  run(ctx: GatewayContext, conn: Connection, msg: T, frame: Frame): void | Promise<void>;
}

/** Keyed by command id alone: TeamTalk dispatches on command_id, the service id is informational (docs/PROTOCOL.md §1). */
export type HandlerTable = Readonly<Record<number, Handler<unknown>>>;

export function on<T>(
  decode: (body: Uint8Array) => T,
  run: (ctx: GatewayContext, conn: Connection, msg: T, frame: Frame) => void | Promise<void>,
): Handler<T> {
  return { decode, run };
}

// docs/FLOWS.md §2 Weakness: TeamTalk processes most commands before login; we ignore
// everything but these until the login succeeds.
const ALLOWED_BEFORE_LOGIN: ReadonlySet<number> = new Set([CID.CID_OTHER_HEARTBEAT, CID.CID_LOGIN_REQ_USERLOGIN]);

const SLOW_HANDLER_MS = 2000;

/**
 * The only place that decodes bodies, enforces the auth state, times handlers
 * and catches their errors (style.md, handlers).
 */
export class Dispatcher {
  private readonly handlers = new Map<number, Handler<unknown>>();
  private readonly guard: RequestGuard;

  constructor(
    private readonly ctx: GatewayContext,
    tables: readonly HandlerTable[],
  ) {
    this.guard = new RequestGuard(ctx.config.listCaps, new UserRateLimits(ctx.config.userRates), ctx.refusals);
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
    // Ignored frames are counted and logged once per offender per interval (RefusalLog), never one line each.
    if (!handler) {
      // docs/PROTOCOL.md §1: unknown command ids are logged and ignored.
      this.ctx.refusals.refuse('unknown_command', conn.offender, { sid, cid, seq });
      return;
    }
    if (!conn.isOpen && !ALLOWED_BEFORE_LOGIN.has(cid)) {
      this.ctx.refusals.refuse('command_before_login', conn.offender, { cid, seq, command: commandName(cid), state: conn.state });
      return;
    }
    let msg: unknown;
    try {
      msg = handler.decode(frame.body);
    } catch (err) {
      // docs/PROTOCOL.md §1: a body that fails to parse is dropped, the connection stays open.
      this.ctx.refusals.refuse('undecodable_body', conn.offender, { cid, seq, command: commandName(cid), bodyBytes: frame.body.length, err: errText(err) });
      return;
    }
    const admitted = conn.isOpen ? this.guard.admit(conn, frame, msg) : true;
    if (admitted === false) return;
    if (admitted !== true) {
      // The budget check is async: the request counts as in flight meanwhile.
      conn.trackWork(admitted.then((ok) => (ok && !conn.isClosed ? this.run(conn, frame, handler, msg) : undefined)));
      return;
    }
    const work = this.run(conn, frame, handler, msg);
    if (work) conn.trackWork(work);
  }

  /** Runs the handler; returns its settled work when it is async (errors logged, never rejected). */
  private run(conn: Connection, frame: Frame, handler: Handler<unknown>, msg: unknown): Promise<void> | undefined {
    const { serviceId: sid, commandId: cid, seqNum: seq } = frame;
    const started = Date.now();
    const failed = (err: unknown): void => {
      conn.log.error({ err, sid, cid, seq, command: commandName(cid), userId: conn.userId }, 'handler failed');
    };
    try {
      const result = handler.run(this.ctx, conn, msg, frame);
      if (result instanceof Promise) {
        return result.then(
          () => {
            const ms = Date.now() - started;
            if (ms >= SLOW_HANDLER_MS) conn.log.warn({ cid, seq, command: commandName(cid), ms }, 'slow handler');
          },
          failed,
        );
      }
    } catch (err) {
      failed(err);
    }
    return undefined;
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
