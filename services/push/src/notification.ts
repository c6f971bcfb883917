import { IM, clientClassName, decryptContent, isSingleMsgType } from '@tiertalk/proto';

/** What a provider shows on the device, the same for every provider. */
export interface Notification {
  /** The banner line: the text (TT_AES_KEY set), "[voice]", "[image]"-like, or a neutral line. */
  body: string;
  /** The receiver's unread count (1:1 totals, db-proxy's GetDeviceToken push_count). */
  badge: number;
  /**
   * TeamTalk's push data: msg_type, from_id, group_id (group messages), and msg_id; plus
   * from_client_class ("pc" or "mobile") when the sender's connection is known, so the app can
   * say "sent from phone". String values (FCM requires them).
   */
  data: Record<string, string>;
  /** Groups a conversation's notifications on the device (apns-collapse-id, FCM collapse key). */
  threadId: string;
}

/** One device token of one receiver, as GetDeviceToken reports it. */
export interface DeviceTarget {
  userId: number;
  clientType: number;
  token: string;
}

const BODY_MAX_CHARS = 256;
const NEUTRAL_BODY = 'New message';
const AUDIO_BODY = '[voice]';

/** A 1:1 or group message as the push service reads it. */
export interface PushedMessage {
  msg: IM.Message.IMMsgData;
  group: boolean;
  /** The request's from_client_class (a ClientClass value): where the sender sent it from. */
  fromClientClass?: number;
}

/** The stored IMMsgData route forwarded, or an error naming why it cannot be pushed. */
export function readMessage(bytes: Uint8Array): PushedMessage | Error {
  let msg: IM.Message.IMMsgData;
  try {
    msg = IM.Message.IMMsgData.decode(bytes);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
  if (msg.msgId <= 0) return new Error('message without msg_id (not stored)');
  return { msg, group: !isSingleMsgType(msg.msgType) };
}

/** The banner text: TeamTalk's flash (decrypted text, "[voice]" for audio). */
export function bodyOf(msg: IM.Message.IMMsgData, aesKey: string | undefined): string {
  const type = msg.msgType;
  if (type === IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_AUDIO || type === IM.BaseDefine.MsgType.MSG_TYPE_GROUP_AUDIO) return AUDIO_BODY;
  if (aesKey === undefined) return NEUTRAL_BODY;
  const text = decryptContent(msg.msgData, aesKey);
  if (text === undefined || text === '') return NEUTRAL_BODY;
  const chars = [...text];
  return chars.length > BODY_MAX_CHARS ? chars.slice(0, BODY_MAX_CHARS).join('') : text;
}

export function notificationOf(message: PushedMessage, badge: number, aesKey: string | undefined): Notification {
  const { msg, group } = message;
  const data: Record<string, string> = { msg_type: String(msg.msgType), from_id: String(msg.fromUserId), msg_id: String(msg.msgId) };
  if (group) data.group_id = String(msg.toSessionId);
  const sentFrom = clientClassName(message.fromClientClass);
  if (sentFrom !== undefined) data.from_client_class = sentFrom;
  return {
    body: bodyOf(msg, aesKey),
    badge,
    data,
    threadId: group ? `g${msg.toSessionId}` : `u${msg.fromUserId}`,
  };
}
