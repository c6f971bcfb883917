import { DbAdminService, DbProxyService } from '@tiertalk/proto';
import { accessPolicy } from '@tiertalk/rpc';

/**
 * Who may call db-proxy (mutual TLS, docs/SECURITY.md): the caller's
 * certificate names its service. The gateway (msg) relays its users'
 * requests, route reads device tokens for offline push, the operator's admin
 * CLI (admin.crt) runs group administration, the send API (http-api.crt)
 * stores messages and creates and changes groups. login calls nothing here: it
 * cannot validate passwords, read or store messages.
 */
export const dbProxyAccess = accessPolicy('DbProxy', DbProxyService, {
  ValidateStream: ['msg'],
  StoreMessages: ['msg', 'http-api'],
  UnreadCount: ['msg'],
  MsgList: ['msg'],
  MsgById: ['msg'],
  LatestMsgId: ['msg'],
  ReadAck: ['msg'],
  MsgRecall: ['msg'],
  MsgReaders: ['msg'],
  RecentSessions: ['msg'],
  RemoveSession: ['msg'],
  UsersInfo: ['msg'],
  AllUsers: ['msg'],
  Departments: ['msg'],
  ChangeAvatar: ['msg'],
  ChangeSignInfo: ['msg'],
  DeviceToken: ['msg', 'push'],
  PushShield: ['msg'],
  QueryPushShield: ['msg', 'push'],
  GetDeviceToken: ['route', 'push'],
  NormalGroupList: ['msg', 'admin'],
  GroupInfo: ['msg', 'admin', 'http-api'],
  GroupCreate: ['msg', 'admin', 'http-api'],
  GroupChangeMember: ['msg', 'admin', 'http-api'],
  GroupShield: ['msg'],
  GroupGetShield: ['msg', 'push'],
  GroupMembers: ['msg', 'admin', 'http-api'],
  GroupQuit: ['msg'],
  GroupDismiss: ['msg', 'admin'],
  GroupKick: ['msg'],
  GroupSetAdmin: ['msg', 'admin'],
  GroupMute: ['msg', 'admin'],
  FileHasOffline: ['msg'],
  FileAddOffline: ['msg'],
  FileDelOffline: ['msg'],
});

/**
 * DbAdmin, the operator's user and department administration: only the admin
 * service and CLI (a certificate naming `admin`). A gateway, route or login
 * certificate cannot create users, set passwords or disable accounts. The
 * send API (http-api) may read a user, to check senders and receivers.
 */
export const dbAdminAccess = accessPolicy('DbAdmin', DbAdminService, {
  UserCreate: ['admin'],
  UserGet: ['admin', 'http-api'],
  UserList: ['admin'],
  UserSetPassword: ['admin'],
  UserSetStatus: ['admin'],
  UserMove: ['admin'],
  DepartCreate: ['admin'],
  DepartRename: ['admin'],
  DepartList: ['admin'],
});
