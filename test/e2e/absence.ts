// Proving that a PDU did NOT arrive, without waiting a fixed time: make a
// later PDU (the marker) travel to the same receiver by the same path, wait
// for it, and then look at what came before it.
//
// Why a marker is ordered after the unwanted PDU (docs/ARCHITECTURE.md, the 1:1
// message path): every envelope a gateway hands to route goes on that
// gateway's one Deliver stream, which route routes batch after batch; route
// writes each gateway's pushes on one ordered Push stream; the gateway writes
// a 1:1 message or a notify to the socket as it is applied. So an envelope
// handed to route after another one from the SAME origin gateway reaches
// every receiver after it. Presence (0x0203) gathered by route is flushed to a
// gateway before any other push to it (docs/FLOWS.md §5 "Coalescing").
// Group messages are queued on the receiving gateway (traffic control), so
// the marker for a group message must be a group message too.
// What a marker cannot order is work not yet handed on: wait until the
// unwanted PDU's cause is with route (its sibling receiver got it, the
// request was answered, the registry changed) before sending the marker.
import { randomBytes } from 'node:crypto';
import type { TeamTalkClient } from '@tiertalk/client';
import { CID, IM } from '@tiertalk/proto';
import type { PushLog, Received } from './pushes';
import type { Session } from './suite';

/** Recognises the marker among a receiver's PDUs. */
export type Marker = (r: Received) => boolean;

const GROUP_TEXT = IM.BaseDefine.MsgType.MSG_TYPE_GROUP_TEXT;

function textOf(r: Received): string | undefined {
  if (r.commandId !== CID.CID_MSG_DATA || r.seqNum !== 0) return undefined;
  return Buffer.from(IM.Message.IMMsgData.decode(r.body).msgData).toString();
}

const uniqueText = (): string => `marker ${randomBytes(6).toString('hex')}`;

/** Sends a 1:1 text marker from `sender` to `toUserId` (and the sender's other devices); resolves once stored. */
export async function sendTextMarker(sender: TeamTalkClient, toUserId: number): Promise<Marker> {
  const text = uniqueText();
  await sender.sendText(toUserId, text);
  return (r) => textOf(r) === text;
}

/** Sends a group text marker to `groupId` (for absence of group messages: same queue on the gateway). */
export async function sendGroupMarker(sender: TeamTalkClient, groupId: number): Promise<Marker> {
  const text = uniqueText();
  const body = IM.Message.IMMsgData.encode({ fromUserId: 0, toSessionId: groupId, msgId: 0, createTime: 0, msgType: GROUP_TEXT, msgData: Buffer.from(text) }).finish();
  const ack = await sender.request(CID.CID_MSG_DATA, body, CID.CID_MSG_DATA_ACK, (b) => IM.Message.IMMsgDataAck.decode(b));
  if (ack.msgId === 0) throw new Error(`group marker to ${groupId} was refused (msg_id 0)`);
  return (r) => textOf(r) === text;
}

/**
 * Waits until `marker` arrived at `log`'s client, then asserts that no PDU
 * matching `unwanted` arrived from index `from` on (anything that would have
 * come is ordered before the marker; see the top of this file).
 */
export async function expectNothingBefore(log: PushLog, marker: Marker, unwanted: (r: Received) => boolean, from = 0, timeoutMs = 5000): Promise<void> {
  await log.waitFor(marker, timeoutMs, 'the absence marker');
  expect(log.all.slice(from).filter(unwanted)).toEqual([]);
}

/** Matches the pushes (seq 0) of one command, optionally only those whose decoded body passes `match`. */
export function pushOf<T>(commandId: number, decode?: (b: Uint8Array) => T, match: (m: T) => boolean = () => true): (r: Received) => boolean {
  return (r) => r.commandId === commandId && r.seqNum === 0 && (decode === undefined || match(decode(r.body)));
}

/**
 * A 1:1 text marker to each receiver's user (from the first sender that is
 * another user), waited for at that receiver: for pushes other than group
 * messages that were already routed to some receiver (absence.ts, top).
 */
export async function markEach(receivers: readonly Session[], senders: readonly Session[], ids: Readonly<Record<string, number>>): Promise<void> {
  for (const r of receivers) {
    const sender = senders.find((s) => s.name !== r.name);
    if (!sender) throw new Error(`markEach: no sender other than ${r.name}`);
    await r.log.waitFor(await sendTextMarker(sender.client, ids[r.name]), 5000, `the marker to ${r.name}`);
  }
}

/**
 * For a plain client (no PushLog): sends a 1:1 text marker from `sender` to
 * `toUserId` and resolves once `receiver` (a connection of that user, or of
 * the sender's user on another device) got it.
 */
export async function textMarkerArrives(sender: TeamTalkClient, toUserId: number, receiver: TeamTalkClient, timeoutMs = 5000): Promise<void> {
  const text = uniqueText();
  let onMessage: (m: IM.Message.IMMsgData) => void = () => undefined;
  let timer: NodeJS.Timeout | undefined;
  const arrived = new Promise<void>((resolve, reject) => {
    onMessage = (m) => {
      if (Buffer.from(m.msgData).toString() === text) resolve();
    };
    receiver.on('message', onMessage);
    timer = setTimeout(() => reject(new Error(`the marker to ${toUserId} did not arrive within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await sender.sendText(toUserId, text);
    await arrived;
  } finally {
    clearTimeout(timer);
    receiver.off('message', onMessage);
  }
}

/**
 * A marker that touches no conversation: `changer` sets its signature to a
 * unique text, which route broadcasts to every connection (the changer's own
 * included); resolves once `receiver` heard it. For notifies whose absence must
 * not be proven with a message (a message would change sessions or unread).
 */
export async function signInfoMarkerArrives(changer: TeamTalkClient, receiver: TeamTalkClient, timeoutMs = 5000): Promise<void> {
  const text = uniqueText();
  let onNotify: (n: IM.Buddy.IMSignInfoChangedNotify) => void = () => undefined;
  let timer: NodeJS.Timeout | undefined;
  const arrived = new Promise<void>((resolve, reject) => {
    onNotify = (n) => {
      if (n.signInfo === text) resolve();
    };
    receiver.on('signInfoChanged', onNotify);
    timer = setTimeout(() => reject(new Error(`the signature marker did not arrive within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await changer.changeSignInfo(text);
    await arrived;
  } finally {
    clearTimeout(timer);
    receiver.off('signInfoChanged', onNotify);
  }
}
