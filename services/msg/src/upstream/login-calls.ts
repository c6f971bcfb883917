import { DbProxyService, IM, RouteService, tiertalk } from '@tiertalk/proto';
import type { SessionBatch, SessionResults, ValidateBatch, ValidateRsp, ValidatedBatch } from '@tiertalk/proto';
import type { CallBatchProtocol } from '@tiertalk/rpc';

// The calls of a login (flows.md §2) and of a logout (§12), each carried in batches on one
// long-lived stream per upstream instance (BatchedCalls), like messages.

/** DbProxy.ValidateStream: one IMValidateReq per item. */
export const validateProtocol: CallBatchProtocol<IM.Server.IMValidateReq.$Properties, ValidateRsp, ValidateBatch, ValidatedBatch, tiertalk.ValidatedItem> = {
  method: DbProxyService.ValidateStream,
  batchOf: (items) => {
    const now = Date.now();
    return tiertalk.ValidateBatch.create({
      items: items.map((i) => tiertalk.ValidateItem.create({ ref: i.ref, req: IM.Server.IMValidateReq.create(i.req), budgetMs: Math.max(0, i.deadline - now) })),
    });
  },
  repliesOf: (batch) => batch.items as tiertalk.ValidatedItem[],
  refOf: (reply) => reply.ref,
  isStop: (batch) => batch.stop !== null && batch.stop !== undefined,
  outcomeOf: (reply) => (reply.rsp ? { rsp: reply.rsp as ValidateRsp } : { error: reply.error || 'no answer in reply' }),
};

/** Route.LoginStream and Route.LogoutStream: one session per item; a login's answer is its kick count. */
function sessionProtocol(method: typeof RouteService.LoginStream): CallBatchProtocol<tiertalk.SessionRef.$Properties, number, SessionBatch, SessionResults, tiertalk.SessionResult> {
  return {
    method,
    batchOf: (items) => tiertalk.SessionBatch.create({ items: items.map((i) => tiertalk.SessionItem.create({ ref: i.ref, session: tiertalk.SessionRef.create(i.req) })) }),
    repliesOf: (batch) => batch.items as tiertalk.SessionResult[],
    refOf: (reply) => reply.ref,
    isStop: (batch) => batch.stop !== null && batch.stop !== undefined,
    outcomeOf: (reply) => (reply.error ? { error: reply.error } : { rsp: reply.kicked ?? 0 }),
  };
}

export const sessionLoginProtocol = sessionProtocol(RouteService.LoginStream);
export const sessionLogoutProtocol = sessionProtocol(RouteService.LogoutStream);
