import { commandName } from '@tiertalk/proto';
import type { RefusalLog } from '@tiertalk/metrics';
import type { Frame } from '@tiertalk/pdu';
import type { ListCaps } from '../config';
import type { Connection } from '../conn/connection';
import { REQUEST_POLICIES } from './request-policy';
import type { RequestPolicy } from './request-policy';
import type { RateClass, UserRateLimits } from './user-rate';

// Fixed metric labels, one per budget class.
const RATE_REASONS: Readonly<Record<RateClass, string>> = {
  p2p: 'rate_limit_p2p',
  profile: 'rate_limit_profile',
  groupChange: 'rate_limit_group_change',
  listQuery: 'rate_limit_list_query',
};

/**
 * Checks a decoded request of a logged-in connection against its list cap and
 * its user's budget (REQUEST_POLICIES) before the handler runs. A refusal is
 * counted, logged once per user per interval, and answered with the
 * command's error response where TeamTalk has one; otherwise an oversize
 * list closes the connection and a rate-limited request is dropped. A page
 * size over its cap is lowered to the cap (counted as `list_clamped`).
 */
export class RequestGuard {
  constructor(
    private readonly caps: ListCaps,
    private readonly rates: UserRateLimits,
    private readonly refusals: RefusalLog,
  ) {}

  /** true: run it now; false: refused; a promise: the budget check's verdict. */
  admit(conn: Connection, frame: Frame, msg: unknown): boolean | Promise<boolean> {
    const policy = REQUEST_POLICIES[frame.commandId];
    if (policy === undefined) return true;
    if (policy.list) {
      const count = policy.list.count(msg as never);
      const max = policy.list.cap(this.caps);
      if (count > max && policy.list.clamp) {
        policy.list.clamp(msg as never, max);
        this.refusals.refuse('list_clamped', conn.offender, { command: commandName(frame.commandId), seq: frame.seqNum, count, max });
      } else if (count > max) {
        this.refuse(conn, frame, msg, policy, 'list_too_long', { count, max });
        return false;
      }
    }
    const cls = policy.rate;
    if (cls === undefined || !this.rates.limits(cls)) return true;
    return this.rates.take(cls, conn.userId).then((ok) => {
      if (!ok) this.refuse(conn, frame, msg, policy, RATE_REASONS[cls], {});
      return ok;
    });
  }

  private refuse(conn: Connection, frame: Frame, msg: unknown, policy: RequestPolicy, reason: string, detail: Record<string, unknown>): void {
    this.refusals.refuse(reason, conn.offender, { command: commandName(frame.commandId), seq: frame.seqNum, ...detail });
    if (conn.isClosed) return;
    if (policy.refusal) {
      const reply = policy.refusal(conn.userId, msg as never);
      conn.sendPdu(reply.commandId, frame.seqNum, reply.body);
    } else if (reason === 'list_too_long') {
      // No result code to say "too long": a client that sends this is broken or hostile.
      conn.close('request list too long', 'flush');
    }
  }
}
