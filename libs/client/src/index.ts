// TeamTalk-protocol client SDK (Node entry): login-server lookup and one msg-gateway connection.
// Browsers get browser.ts instead (package.json "browser"): the same core over the page's WebSocket.
export { gatewayPort, pickGateway } from './gateway';
export type { GatewayChoice, PickGatewayOptions } from './gateway';
export { TeamTalkClient, TeamTalkClientCore, ClientType, SessionType, DEFAULT_PAGE_SIZE } from './node-client';
export type {
  ClientOptions,
  Endpoint,
  TransportOpener,
  CloseInfo,
  ConnectOptions,
  LoginOptions,
  LoginResult,
  PduEvent,
  RequestOptions,
  SendResult,
  TeamTalkClientEvents,
  UserStatType,
} from './node-client';
export { GroupRequests, GroupType, GroupAdminResult, GroupAdminAction } from './group-requests';
export type { CreateGroupOptions, GroupRequestOptions, GroupSendResult, MemberChange } from './group-requests';
export { TEAMTALK_DEFAULT_AES_KEY, decryptContent, encryptContent } from '@tiertalk/proto';
export { ClientError, isClientError } from './errors';
export { MsgRecallResult } from './recall-requests';
export type { ClientErrorCode, ClientErrorDetails } from './errors';
export { md5hex } from './password';
export { SeenMessages } from './dedupe';
export type { SeenMessagesOptions } from './dedupe';
export { SeqAllocator, MAX_SEQ } from './seq';
export type { ClientTlsOptions, Transport, TransportHandlers, TransportKind } from './transport';
