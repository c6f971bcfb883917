// TierTalk's recall and read-receipt extensions (IM.Message 0x0340-0x0345,
// docs/PROTOCOL.md §6) in the SDK: TeamTalkClient.recall() and readers().
import { CID, IM } from '@tiertalk/proto';
import { ClientError } from './errors';

export const MsgRecallResult = IM.Message.MsgRecallResult;

/** What the requests need from a connection (TeamTalkClient provides it). */
export interface RecallRequestHost {
  request<Res>(commandId: number, body: Uint8Array, expectCommandId: number, decode: (body: Uint8Array) => Res, opts?: { timeoutMs?: number }): Promise<Res>;
  requireUserId(what: string): number;
}

/** A non-zero result_code becomes REQUEST_REFUSED carrying it (a MsgRecallResult: 2 NO_SUCH_MSG, 3 NOT_SENDER, 4 WINDOW_PASSED, 5 ALREADY_RECALLED). */
function refusedUnlessOk<T>(what: string, resultCode: number, res: T): T {
  if (resultCode !== 0) {
    const name = IM.Message.MsgRecallResult[resultCode] ?? String(resultCode);
    throw new ClientError('REQUEST_REFUSED', `${what} refused: result_code ${resultCode} (${name})`, { resultCode });
  }
  return res;
}

/** Recalls one of my messages; resolves with the answer (recall_time set), rejects REQUEST_REFUSED with its MsgRecallResult. */
export async function recallMessage(
  host: RecallRequestHost,
  sessionType: IM.BaseDefine.SessionType,
  sessionId: number,
  msgId: number,
  opts: { timeoutMs?: number } = {},
): Promise<IM.Message.IMMsgRecallRsp> {
  const userId = host.requireUserId('recall');
  const body = IM.Message.IMMsgRecallReq.encode({ userId, sessionType, sessionId, msgId }).finish();
  const res = await host.request(CID.CID_MSG_RECALL_REQ, body, CID.CID_MSG_RECALL_RSP, (b) => IM.Message.IMMsgRecallRsp.decode(b), opts);
  return refusedUnlessOk('recall', res.resultCode, res);
}

/** Who has read one of my messages (counts and member id lists); rejects REQUEST_REFUSED like recall. */
export async function messageReaders(
  host: RecallRequestHost,
  sessionType: IM.BaseDefine.SessionType,
  sessionId: number,
  msgId: number,
  opts: { timeoutMs?: number } = {},
): Promise<IM.Message.IMMsgReadersRsp> {
  const userId = host.requireUserId('readers');
  const body = IM.Message.IMMsgReadersReq.encode({ userId, sessionType, sessionId, msgId }).finish();
  const res = await host.request(CID.CID_MSG_READERS_REQ, body, CID.CID_MSG_READERS_RSP, (b) => IM.Message.IMMsgReadersRsp.decode(b), opts);
  return refusedUnlessOk('readers', res.resultCode, res);
}
