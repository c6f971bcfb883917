import { CID, DbProxyService, IM } from '@tiertalk/proto';
import { PDU_HEADER_LENGTH } from '@tiertalk/pdu';
import type { Frame } from '@tiertalk/pdu';
import type { Connection } from '../../conn/connection';
import type { GatewayContext } from '../../gateway-context';

// A directory answer is cut into frames of at most this many bytes (and never
// above the gateway's frame cap): a few thousand users would otherwise make one
// frame larger than clients accept.
export const ALL_USERS_FRAME_BYTES = 256 * 1024;
// Room for user_id, latest_update_time and the repeated field's tags.
const FIELDS_OVERHEAD = 32;

/**
 * The answer's frames, in order. Every frame is an IMAllUserRsp with the
 * request's seq_num; only the last carries the real latest_update_time, the
 * ones before it carry 0 ("everything"). A client that keeps each frame's
 * users (TeamTalk's Android and PC clients upsert them) ends with everyone;
 * one that saves the time of a frame that was not the last asks for the whole
 * directory next time and loses no user. A frame is not the last exactly when
 * its time is 0 and its list is not empty: the last frame's time is at least 1
 * whenever it lists users (a time of 1 instead of 0 skips no user, as every
 * user of that answer was just sent and any later change sets `updated` to now).
 */
export function splitAllUsers(rsp: IM.Buddy.IMAllUserRsp, frameBytes: number): Uint8Array[] {
  const budget = frameBytes - PDU_HEADER_LENGTH - FIELDS_OVERHEAD;
  const frames: Uint8Array[] = [];
  let part: IM.BaseDefine.UserInfo.$Properties[] = [];
  let size = 0;
  for (const user of rsp.userList) {
    const len = IM.BaseDefine.UserInfo.encode(user).finish().length;
    const entry = len + 6; // tag + length varint
    if (part.length > 0 && size + entry > budget) {
      frames.push(IM.Buddy.IMAllUserRsp.encode({ userId: rsp.userId, latestUpdateTime: 0, userList: part }).finish());
      part = [];
      size = 0;
    }
    part.push(user);
    size += entry;
  }
  const latestUpdateTime = part.length > 0 ? Math.max(rsp.latestUpdateTime, 1) : rsp.latestUpdateTime;
  frames.push(IM.Buddy.IMAllUserRsp.encode({ userId: rsp.userId, latestUpdateTime, userList: part }).finish());
  return frames;
}

/** 0x0208 → 0x0209 (docs/FLOWS.md §9): relayed to db-proxy, answered in as many frames as the directory needs. */
export async function onAllUserReq(ctx: GatewayContext, conn: Connection, req: IM.Buddy.IMAllUserReq, frame: Frame): Promise<void> {
  const since = req.latestUpdateTime;
  let rsp: IM.Buddy.IMAllUserRsp;
  try {
    rsp = await ctx.db.call(DbProxyService.AllUsers, IM.Buddy.IMAllUserReq.create({ userId: conn.userId, latestUpdateTime: since }));
  } catch (err) {
    // TeamTalk has no error reply here: the client's request times out.
    conn.log.warn({ cid: frame.commandId, seq: frame.seqNum, err }, 'db-proxy request failed');
    return;
  }
  const frameBytes = Math.min(ALL_USERS_FRAME_BYTES, ctx.config.conn.maxFrameBytes);
  // attach_data never reaches a client (docs/FLOWS.md §14 F8): it is not copied.
  for (const body of splitAllUsers(rsp, frameBytes)) {
    if (conn.isClosed) return;
    conn.sendPdu(CID.CID_BUDDY_LIST_ALL_USER_RESPONSE, frame.seqNum, body);
  }
}
