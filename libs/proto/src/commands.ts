import { IM, tiertalk } from './gen/pb';

// Spelled as in docs/PROTOCOL.md §2 so code reads like the docs.
export const SID = IM.BaseDefine.ServiceID;
export const CID = {
  ...IM.BaseDefine.LoginCmdID,
  ...IM.BaseDefine.BuddyListCmdID,
  ...IM.BaseDefine.MessageCmdID,
  ...IM.BaseDefine.GroupCmdID,
  ...IM.BaseDefine.FileCmdID,
  ...IM.BaseDefine.SwitchServiceCmdID,
  ...IM.BaseDefine.OtherCmdID,
  // TierTalk's group administration extensions (IM.Group.proto, README).
  ...IM.Group.TierTalkGroupCmdID,
  // TierTalk's recall and read receipt extensions (IM.Message.proto, docs/PROTOCOL.md §6).
  ...IM.Message.TierTalkMsgCmdID,
} as const;

/** TeamTalk command ids are globally unique; the service id is the high byte. */
export function serviceIdOf(commandId: number): number {
  return commandId >>> 8;
}

/** Name of a command id for logs ("CID_MSG_DATA"), or its hex form when unknown. */
const namesById = new Map<number, string>();
for (const [name, value] of Object.entries(CID)) {
  if (typeof value === 'number') namesById.set(value, name);
}
export function commandName(commandId: number): string {
  return namesById.get(commandId) ?? `0x${commandId.toString(16).padStart(4, '0')}`;
}

// docs/PROTOCOL.md §3.1: PC when bit 0x10 is clear, mobile when set.
export function isMobileClient(clientType: number): boolean {
  return (clientType & 0x10) !== 0;
}
/** The ClientClass of a connection's client type (Envelope.from_client_class). */
export function clientClassOf(clientType: number): tiertalk.ClientClass {
  return isMobileClient(clientType) ? tiertalk.ClientClass.CLIENT_CLASS_MOBILE : tiertalk.ClientClass.CLIENT_CLASS_PC;
}
/** How a ClientClass value reads in JSON (webhook events, push data); undefined for ANY or a class not known. */
export function clientClassName(clientClass: number | null | undefined): 'pc' | 'mobile' | undefined {
  if (clientClass === tiertalk.ClientClass.CLIENT_CLASS_PC) return 'pc';
  if (clientClass === tiertalk.ClientClass.CLIENT_CLASS_MOBILE) return 'mobile';
  return undefined;
}
export function sameClientClass(a: number, b: number): boolean {
  return ((a ^ b) >> 4) === 0;
}
export function isSingleMsgType(msgType: number): boolean {
  return msgType === IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT || msgType === IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_AUDIO;
}
export function isGroupMsgType(msgType: number): boolean {
  return msgType === IM.BaseDefine.MsgType.MSG_TYPE_GROUP_TEXT || msgType === IM.BaseDefine.MsgType.MSG_TYPE_GROUP_AUDIO;
}
