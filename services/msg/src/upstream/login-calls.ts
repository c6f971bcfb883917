import { DbProxyService, IM, RouteService, tiertalk } from '@tiertalk/proto';
import type { SessionLoginBatch, SessionLoginResults, SessionLoginRsp, ValidateBatch, ValidateRsp, ValidatedBatch } from '@tiertalk/proto';
import type { CallBatchProtocol } from '@tiertalk/rpc';

// The two calls of a login (flows.md §2), each carried in batches on one
// long-lived stream per upstream instance (BatchedCalls), like messages.

/** DbProxy.ValidateStream: one IMValidateReq per item. */
export const validateProtocol: CallBatchProtocol<IM.Server.IMValidateReq.$Properties, ValidateRsp, ValidateBatch, ValidatedBatch, tiertalk.ValidatedItem> = {
  method: DbProxyService.ValidateStream,
  batchOf: (items) => tiertalk.ValidateBatch.create({ items: items.map((i) => tiertalk.ValidateItem.create({ ref: i.ref, req: IM.Server.IMValidateReq.create(i.req) })) }),
  repliesOf: (batch) => batch.items as tiertalk.ValidatedItem[],
  refOf: (reply) => reply.ref,
  isStop: (batch) => batch.stop !== null && batch.stop !== undefined,
  outcomeOf: (reply) => (reply.rsp ? { rsp: reply.rsp as ValidateRsp } : { error: reply.error || 'no answer in reply' }),
};

/** Route.LoginStream: one session registration per item. */
export const sessionLoginProtocol: CallBatchProtocol<tiertalk.SessionRef.$Properties, SessionLoginRsp, SessionLoginBatch, SessionLoginResults, tiertalk.SessionLoginResult> = {
  method: RouteService.LoginStream,
  batchOf: (items) => tiertalk.SessionLoginBatch.create({ items: items.map((i) => tiertalk.SessionLoginItem.create({ ref: i.ref, session: tiertalk.SessionRef.create(i.req) })) }),
  repliesOf: (batch) => batch.items as tiertalk.SessionLoginResult[],
  refOf: (reply) => reply.ref,
  isStop: (batch) => batch.stop !== null && batch.stop !== undefined,
  outcomeOf: (reply) => (reply.rsp ? { rsp: reply.rsp as SessionLoginRsp } : { error: reply.error || 'no answer in reply' }),
};
