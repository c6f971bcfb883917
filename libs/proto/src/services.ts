import type * as grpc from '@grpc/grpc-js';
import type { Writer } from 'protobufjs/minimal';
import { IM, tiertalk } from './gen/pb';

// gRPC method definitions bound to the generated static classes, so both ends
// are typed by the PDUs themselves. Mirrors proto/internal/tiertalk.proto
// (services.test.ts checks the two agree).

interface PbType<T> {
  encode(message: T, writer?: Writer): Writer;
  decode(data: Uint8Array): T;
}

function codec<T>(type: PbType<T>) {
  return {
    serialize: (m: T): Buffer => {
      const bytes = type.encode(m).finish();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    deserialize: (b: Buffer): T => type.decode(b),
  };
}

function method<Req, Res>(
  service: string,
  name: string,
  req: PbType<Req>,
  res: PbType<Res>,
  requestStream: boolean,
  responseStream: boolean,
): grpc.MethodDefinition<Req, Res> {
  const rq = codec(req);
  const rs = codec(res);
  return {
    path: `/tiertalk.${service}/${name}`,
    originalName: name,
    requestStream,
    responseStream,
    requestSerialize: rq.serialize,
    requestDeserialize: rq.deserialize,
    responseSerialize: rs.serialize,
    responseDeserialize: rs.deserialize,
  };
}

// The generated decode() returns the class; encode() takes its properties.
type Msg<C extends abstract new (...args: never[]) => unknown> = InstanceType<C>;

export type ValidateReq = Msg<typeof IM.Server.IMValidateReq>;
export type ValidateRsp = Msg<typeof IM.Server.IMValidateRsp>;
export type ValidateBatch = Msg<typeof tiertalk.ValidateBatch>;
export type ValidatedBatch = Msg<typeof tiertalk.ValidatedBatch>;
export type SessionBatch = Msg<typeof tiertalk.SessionBatch>;
export type SessionResults = Msg<typeof tiertalk.SessionResults>;
export type MsgStoreBatch = Msg<typeof tiertalk.MsgStoreBatch>;
export type MsgStoredBatch = Msg<typeof tiertalk.MsgStoredBatch>;
export type SessionRef = Msg<typeof tiertalk.SessionRef>;
export type SessionLoginRsp = Msg<typeof tiertalk.SessionLoginRsp>;
export type Empty = Msg<typeof tiertalk.Empty>;
export type EnvelopeBatch = Msg<typeof tiertalk.EnvelopeBatch>;
export type DeliverReport = Msg<typeof tiertalk.DeliverReport>;
export type UsersStatReq = Msg<typeof IM.Buddy.IMUsersStatReq>;
export type UsersStatRsp = Msg<typeof IM.Buddy.IMUsersStatRsp>;
export type SessionSync = Msg<typeof tiertalk.SessionSync>;
export type SessionSyncRsp = Msg<typeof tiertalk.SessionSyncRsp>;
export type PushBatch = Msg<typeof tiertalk.PushBatch>;
export type PushAck = Msg<typeof tiertalk.PushAck>;
export type NotifyBatch = Msg<typeof tiertalk.NotifyBatch>;
export type NotifiedBatch = Msg<typeof tiertalk.NotifiedBatch>;

/** A unary method whose request and reply are generated classes. */
function unary<ReqC extends PbType<InstanceType<ReqC>> & (abstract new (...args: never[]) => unknown), ResC extends PbType<InstanceType<ResC>> & (abstract new (...args: never[]) => unknown)>(
  service: string,
  name: string,
  req: ReqC,
  res: ResC,
): grpc.MethodDefinition<InstanceType<ReqC>, InstanceType<ResC>> {
  return method<InstanceType<ReqC>, InstanceType<ResC>>(service, name, req, res, false, false);
}

export const DbProxyService = {
  ValidateStream: method<ValidateBatch, ValidatedBatch>('DbProxy', 'ValidateStream', tiertalk.ValidateBatch, tiertalk.ValidatedBatch, true, true),
  StoreMessages: method<MsgStoreBatch, MsgStoredBatch>('DbProxy', 'StoreMessages', tiertalk.MsgStoreBatch, tiertalk.MsgStoredBatch, true, true),
  UnreadCount: unary('DbProxy', 'UnreadCount', IM.Message.IMUnreadMsgCntReq, IM.Message.IMUnreadMsgCntRsp),
  MsgList: unary('DbProxy', 'MsgList', IM.Message.IMGetMsgListReq, IM.Message.IMGetMsgListRsp),
  MsgById: unary('DbProxy', 'MsgById', IM.Message.IMGetMsgByIdReq, IM.Message.IMGetMsgByIdRsp),
  LatestMsgId: unary('DbProxy', 'LatestMsgId', IM.Message.IMGetLatestMsgIdReq, IM.Message.IMGetLatestMsgIdRsp),
  ReadAck: unary('DbProxy', 'ReadAck', IM.Message.IMMsgDataReadAck, tiertalk.Empty),
  MsgRecall: unary('DbProxy', 'MsgRecall', IM.Message.IMMsgRecallReq, IM.Message.IMMsgRecallRsp),
  MsgReaders: unary('DbProxy', 'MsgReaders', IM.Message.IMMsgReadersReq, IM.Message.IMMsgReadersRsp),
  RecentSessions: unary('DbProxy', 'RecentSessions', IM.Buddy.IMRecentContactSessionReq, IM.Buddy.IMRecentContactSessionRsp),
  RemoveSession: unary('DbProxy', 'RemoveSession', IM.Buddy.IMRemoveSessionReq, IM.Buddy.IMRemoveSessionRsp),
  UsersInfo: unary('DbProxy', 'UsersInfo', IM.Buddy.IMUsersInfoReq, IM.Buddy.IMUsersInfoRsp),
  AllUsers: unary('DbProxy', 'AllUsers', IM.Buddy.IMAllUserReq, IM.Buddy.IMAllUserRsp),
  Departments: unary('DbProxy', 'Departments', IM.Buddy.IMDepartmentReq, IM.Buddy.IMDepartmentRsp),
  ChangeAvatar: unary('DbProxy', 'ChangeAvatar', IM.Buddy.IMChangeAvatarReq, IM.Buddy.IMChangeAvatarRsp),
  ChangeSignInfo: unary('DbProxy', 'ChangeSignInfo', IM.Buddy.IMChangeSignInfoReq, IM.Buddy.IMChangeSignInfoRsp),
  DeviceToken: unary('DbProxy', 'DeviceToken', IM.Login.IMDeviceTokenReq, IM.Login.IMDeviceTokenRsp),
  PushShield: unary('DbProxy', 'PushShield', IM.Login.IMPushShieldReq, IM.Login.IMPushShieldRsp),
  QueryPushShield: unary('DbProxy', 'QueryPushShield', IM.Login.IMQueryPushShieldReq, IM.Login.IMQueryPushShieldRsp),
  GetDeviceToken: unary('DbProxy', 'GetDeviceToken', IM.Server.IMGetDeviceTokenReq, IM.Server.IMGetDeviceTokenRsp),
  NormalGroupList: unary('DbProxy', 'NormalGroupList', IM.Group.IMNormalGroupListReq, IM.Group.IMNormalGroupListRsp),
  GroupInfo: unary('DbProxy', 'GroupInfo', IM.Group.IMGroupInfoListReq, IM.Group.IMGroupInfoListRsp),
  GroupCreate: unary('DbProxy', 'GroupCreate', IM.Group.IMGroupCreateReq, IM.Group.IMGroupCreateRsp),
  GroupChangeMember: unary('DbProxy', 'GroupChangeMember', IM.Group.IMGroupChangeMemberReq, IM.Group.IMGroupChangeMemberRsp),
  GroupShield: unary('DbProxy', 'GroupShield', IM.Group.IMGroupShieldReq, IM.Group.IMGroupShieldRsp),
  GroupGetShield: unary('DbProxy', 'GroupGetShield', IM.Server.IMGroupGetShieldReq, IM.Server.IMGroupGetShieldRsp),
  GroupMembers: unary('DbProxy', 'GroupMembers', tiertalk.GroupMembersReq, tiertalk.GroupMembersRsp),
  GroupQuit: unary('DbProxy', 'GroupQuit', IM.Group.IMGroupQuitReq, IM.Group.IMGroupQuitRsp),
  GroupDismiss: unary('DbProxy', 'GroupDismiss', IM.Group.IMGroupDismissReq, IM.Group.IMGroupDismissRsp),
  GroupKick: unary('DbProxy', 'GroupKick', IM.Group.IMGroupKickReq, IM.Group.IMGroupKickRsp),
  GroupSetAdmin: unary('DbProxy', 'GroupSetAdmin', IM.Group.IMGroupSetAdminReq, IM.Group.IMGroupSetAdminRsp),
  GroupMute: unary('DbProxy', 'GroupMute', IM.Group.IMGroupMuteReq, IM.Group.IMGroupMuteRsp),
  FileHasOffline: unary('DbProxy', 'FileHasOffline', IM.File.IMFileHasOfflineReq, IM.File.IMFileHasOfflineRsp),
  FileAddOffline: unary('DbProxy', 'FileAddOffline', IM.File.IMFileAddOfflineReq, tiertalk.Empty),
  FileDelOffline: unary('DbProxy', 'FileDelOffline', IM.File.IMFileDelOfflineReq, tiertalk.Empty),
} satisfies grpc.ServiceDefinition;

/** The file server (services/file): transfer tasks for the gateways. */
export const FileServerService = {
  Transfer: unary('FileServer', 'Transfer', IM.Server.IMFileTransferReq, IM.Server.IMFileTransferRsp),
  ServerIp: unary('FileServer', 'ServerIp', IM.Server.IMFileServerIPReq, IM.Server.IMFileServerIPRsp),
} satisfies grpc.ServiceDefinition;

/** db-proxy's administration service (the `admin` certificate only). */
export const DbAdminService = {
  UserCreate: unary('DbAdmin', 'UserCreate', tiertalk.AdminUserCreateReq, tiertalk.AdminUser),
  UserGet: unary('DbAdmin', 'UserGet', tiertalk.AdminUserRef, tiertalk.AdminUser),
  UserList: unary('DbAdmin', 'UserList', tiertalk.AdminUserListReq, tiertalk.AdminUserList),
  UserSetPassword: unary('DbAdmin', 'UserSetPassword', tiertalk.AdminSetPasswordReq, tiertalk.AdminUser),
  UserSetStatus: unary('DbAdmin', 'UserSetStatus', tiertalk.AdminSetStatusReq, tiertalk.AdminUser),
  UserMove: unary('DbAdmin', 'UserMove', tiertalk.AdminMoveUserReq, tiertalk.AdminUser),
  DepartCreate: unary('DbAdmin', 'DepartCreate', tiertalk.AdminDepartCreateReq, tiertalk.AdminDepart),
  DepartRename: unary('DbAdmin', 'DepartRename', tiertalk.AdminDepartRenameReq, tiertalk.AdminDepart),
  DepartList: unary('DbAdmin', 'DepartList', tiertalk.Empty, tiertalk.AdminDepartList),
} satisfies grpc.ServiceDefinition;

export const RouteService = {
  LoginStream: method<SessionBatch, SessionResults>('Route', 'LoginStream', tiertalk.SessionBatch, tiertalk.SessionResults, true, true),
  LogoutStream: method<SessionBatch, SessionResults>('Route', 'LogoutStream', tiertalk.SessionBatch, tiertalk.SessionResults, true, true),
  Deliver: method<EnvelopeBatch, DeliverReport>('Route', 'Deliver', tiertalk.EnvelopeBatch, tiertalk.DeliverReport, true, true),
  SyncSessions: unary('Route', 'SyncSessions', tiertalk.SessionSync, tiertalk.SessionSyncRsp),
  UsersStat: method<UsersStatReq, UsersStatRsp>('Route', 'UsersStat', IM.Buddy.IMUsersStatReq, IM.Buddy.IMUsersStatRsp, false, false),
  KickUser: unary('Route', 'KickUser', IM.Server.IMServerKickUser, tiertalk.SessionLoginRsp),
} satisfies grpc.ServiceDefinition;

export const GatewayService = {
  Push: method<PushBatch, PushAck>('Gateway', 'Push', tiertalk.PushBatch, tiertalk.PushAck, true, true),
} satisfies grpc.ServiceDefinition;

export const PushService = {
  Notify: method<NotifyBatch, NotifiedBatch>('PushNotify', 'Notify', tiertalk.NotifyBatch, tiertalk.NotifiedBatch, true, true),
} satisfies grpc.ServiceDefinition;
