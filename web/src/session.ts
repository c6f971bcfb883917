// One signed-in user's chat state over a TeamTalkClient: contacts by department,
// groups, presence, conversations with their history pages and unread counts.
// No DOM here: view.ts renders what this holds and listens for 'change'.
import { ClientType, SessionType, connectWebSocket, gatewayWebSocketUrl, pickGatewayWeb, type TeamTalkClient } from '@tiertalk/client';
import { IM, isGroupMsgType } from '@tiertalk/proto';
import { encryptContent, imageContent, messageParts, type ContentPart } from './content';
import { uploadBlocker } from './msfs-answer';
import { uploadToMsfs } from './upload';

type MsgType = IM.BaseDefine.MsgType;
const MsgType = IM.BaseDefine.MsgType;
const ONLINE = IM.BaseDefine.UserStatType.USER_STATUS_ONLINE;

export interface Contact {
  id: number;
  name: string;
  departmentId: number;
  online: boolean;
}

export interface Department {
  id: number;
  name: string;
  priority: number;
}

export interface Group {
  id: number;
  name: string;
  memberIds: number[];
}

export interface ChatMessage {
  msgId: number;
  fromUserId: number;
  createTime: number;
  parts: ContentPart[];
}

export interface Conversation {
  key: string;
  type: SessionType;
  id: number;
  /** Oldest first. */
  messages: ChatMessage[];
  unread: number;
  /** History was asked for at least once. */
  loaded: boolean;
  /** The server may hold older messages than the oldest shown. */
  hasMore: boolean;
}

export type ChangeKind = 'contacts' | 'presence' | 'active' | 'conversation' | 'unread' | 'closed';

export interface SessionOptions {
  /** History page size (TeamTalk clients use 20). */
  pageSize: number;
}

export function conversationKey(type: SessionType, id: number): string {
  return `${type === SessionType.SESSION_TYPE_GROUP ? 'g' : 'u'}${id}`;
}

function isAudio(msgType: MsgType): boolean {
  return msgType === MsgType.MSG_TYPE_SINGLE_AUDIO || msgType === MsgType.MSG_TYPE_GROUP_AUDIO;
}

export class ChatSession extends EventTarget {
  readonly contacts = new Map<number, Contact>();
  readonly departments = new Map<number, Department>();
  readonly groups = new Map<number, Group>();
  readonly conversations = new Map<string, Conversation>();
  active: string | undefined;
  closedReason: string | undefined;

  private constructor(
    readonly client: TeamTalkClient,
    readonly me: Contact,
    private readonly msfsUrl: string | undefined,
    /** The page came over https (it may only upload to an https msfs). */
    private readonly secure: boolean,
    private readonly opts: SessionOptions,
  ) {
    super();
  }

  /** Asks this page's origin for a gateway, connects over WebSocket, signs in and loads the directory. */
  static async start(origin: string, secure: boolean, userName: string, password: string, opts: SessionOptions): Promise<ChatSession> {
    const gateway = await pickGatewayWeb(origin);
    const client = await connectWebSocket(gatewayWebSocketUrl(gateway, secure));
    try {
      // A PC client type: the gateway then sends presence changes (docs/FLOWS.md §5).
      const res = await client.login(userName, password, { clientType: ClientType.CLIENT_TYPE_WINDOWS, clientVersion: 'tiertalk-web/0.1' });
      const info = res.userInfo;
      const me: Contact = { id: res.userId, name: info.userNickName || info.userRealName || userName, departmentId: info.departmentId, online: true };
      const msfs = typeof gateway.raw.msfsPrior === 'string' && gateway.raw.msfsPrior !== '' ? gateway.raw.msfsPrior : undefined;
      const session = new ChatSession(client, me, msfs, secure, opts);
      await session.load();
      return session;
    } catch (err) {
      client.close('sign-in failed');
      throw err;
    }
  }

  private async load(): Promise<void> {
    const c = this.client;
    c.on('message', (m) => this.onMessage(m));
    c.on('userStatus', (n) => this.setPresence(n.userStat.userId, n.userStat.status === ONLINE));
    c.on('kick', () => c.close('signed in elsewhere'));
    // Added to a group while online (docs/FLOWS.md §10.4): list it.
    c.on('groupChangeMember', (n) => {
      if (!this.groups.has(n.groupId) && n.curUserIdList.includes(this.me.id)) this.fetchGroup(n.groupId).catch(() => undefined);
    });
    c.on('close', (info) => {
      this.closedReason = info.reason;
      this.changed('closed');
    });
    const [depts, users, groupVersions, recent, unread] = await Promise.all([c.departments(), c.allUsers(), c.groups.normalGroupList(), c.recentSessions(), c.unreadCounts()]);
    for (const d of depts.deptList ?? []) this.departments.set(d.deptId, { id: d.deptId, name: d.deptName, priority: d.priority });
    for (const u of users.userList ?? []) {
      // TeamTalk's IMUser.status: 0 active; anything else cannot sign in and is not listed.
      if (u.status !== 0 && u.userId !== this.me.id) continue;
      this.contacts.set(u.userId, { id: u.userId, name: u.userNickName || u.userRealName || `user ${u.userId}`, departmentId: u.departmentId, online: false });
    }
    this.contacts.set(this.me.id, this.me);
    const stats = await c.usersStatus([...this.contacts.keys()]);
    for (const s of stats) this.setPresence(s.userId, s.status === ONLINE, false);
    // Normal groups are listed; temporary ones (TeamTalk's multi-person chats) come from the recent sessions.
    const versions = new Map(groupVersions.map((v) => [v.groupId, v]));
    for (const r of recent.contactSessionList ?? []) {
      if (r.sessionType === SessionType.SESSION_TYPE_GROUP && !versions.has(r.sessionId)) versions.set(r.sessionId, { groupId: r.sessionId, version: 0 });
    }
    for (const u of unread.unreadinfoList ?? []) {
      if (u.sessionType === SessionType.SESSION_TYPE_GROUP && !versions.has(u.sessionId)) versions.set(u.sessionId, { groupId: u.sessionId, version: 0 });
    }
    if (versions.size > 0) for (const g of await c.groups.groupInfo([...versions.values()])) this.addGroup(g);
    for (const u of unread.unreadinfoList ?? []) this.conversation(u.sessionType, u.sessionId).unread = u.unreadCnt;
    this.changed('contacts');
  }

  conversation(type: SessionType, id: number): Conversation {
    const key = conversationKey(type, id);
    let conv = this.conversations.get(key);
    if (!conv) {
      conv = { key, type, id, messages: [], unread: 0, loaded: false, hasMore: true };
      this.conversations.set(key, conv);
    }
    return conv;
  }

  title(conv: Conversation): string {
    if (conv.type === SessionType.SESSION_TYPE_GROUP) return this.groups.get(conv.id)?.name ?? `group ${conv.id}`;
    return this.contacts.get(conv.id)?.name ?? `user ${conv.id}`;
  }

  nameOf(userId: number): string {
    return this.contacts.get(userId)?.name ?? `user ${userId}`;
  }

  /** Shows a conversation: loads its latest page once and marks it read. */
  async open(type: SessionType, id: number): Promise<void> {
    const conv = this.conversation(type, id);
    this.active = conv.key;
    this.changed('active', conv.key);
    if (!conv.loaded) await this.loadOlder(conv);
    this.markRead(conv);
  }

  /** The page before the oldest message shown (the latest page the first time). */
  async loadOlder(conv: Conversation): Promise<void> {
    const oldest = conv.messages[0]?.msgId;
    const begin = oldest === undefined ? 0 : oldest - 1;
    if (oldest !== undefined && begin < 1) {
      conv.hasMore = false;
      this.changed('conversation', conv.key);
      return;
    }
    const res = await this.client.messageList(conv.type, conv.id, begin, this.opts.pageSize);
    const known = new Set(conv.messages.map((m) => m.msgId));
    const page = (res.msgList ?? [])
      .filter((m) => !known.has(m.msgId))
      .map((m) => ({ msgId: m.msgId, fromUserId: m.fromSessionId, createTime: m.createTime, parts: this.parts(m.msgData, m.msgType) }))
      .reverse();
    conv.messages = [...page, ...conv.messages].sort((a, b) => a.msgId - b.msgId);
    conv.loaded = true;
    conv.hasMore = (res.msgList ?? []).length >= this.opts.pageSize;
    this.changed('conversation', conv.key);
  }

  /** Sends text (encrypted like TeamTalk clients, so theirs show it) and shows it once stored. */
  async send(conv: Conversation, text: string): Promise<void> {
    const data = encryptContent(text);
    const sent = conv.type === SessionType.SESSION_TYPE_GROUP ? await this.client.groups.sendGroupText(conv.id, data) : await this.client.sendText(conv.id, data);
    this.append(conv, { msgId: sent.msgId, fromUserId: this.me.id, createTime: Math.floor(Date.now() / 1000), parts: this.parts(data, MsgType.MSG_TYPE_SINGLE_TEXT) });
  }

  /** Why this page cannot send pictures (no msfs, or one it may not reach); undefined when it can. */
  get imageBlocker(): string | undefined {
    return uploadBlocker(this.msfsUrl, this.secure);
  }

  /**
   * Sends a picture as TeamTalk clients do: upload to msfs (msfsPrior), then a text message
   * holding the returned URL between the image markers, encrypted like any text.
   */
  async sendImage(conv: Conversation, file: File, progress: (sent: number) => void): Promise<void> {
    const blocked = this.imageBlocker;
    if (blocked !== undefined || this.msfsUrl === undefined) throw new Error(blocked);
    const url = await uploadToMsfs(this.msfsUrl, file, progress);
    await this.send(conv, imageContent(url));
  }

  /** The page became visible again: what arrived in the open conversation meanwhile is read now. */
  markActiveRead(): void {
    const conv = this.active === undefined ? undefined : this.conversations.get(this.active);
    if (conv && conv.unread > 0) this.markRead(conv);
  }

  /** Unread messages over every conversation (the page title shows it). */
  get totalUnread(): number {
    let total = 0;
    for (const c of this.conversations.values()) total += c.unread;
    return total;
  }

  close(): void {
    this.client.close('signed out');
  }

  private onMessage(m: IM.Message.IMMsgData): void {
    const group = isGroupMsgType(m.msgType);
    const peer = group || m.fromUserId === this.me.id ? m.toSessionId : m.fromUserId;
    const conv = this.conversation(group ? SessionType.SESSION_TYPE_GROUP : SessionType.SESSION_TYPE_SINGLE, peer);
    if (group && !this.groups.has(peer)) this.fetchGroup(peer).catch(() => undefined);
    this.append(conv, { msgId: m.msgId, fromUserId: m.fromUserId, createTime: m.createTime, parts: this.parts(m.msgData, m.msgType) });
    if (m.fromUserId === this.me.id) return;
    if (this.active === conv.key && document.visibilityState !== 'hidden') this.markRead(conv);
    else {
      conv.unread += 1;
      this.changed('unread', conv.key);
    }
  }

  private append(conv: Conversation, msg: ChatMessage): void {
    // Messages that arrive before a conversation's history was loaded come with that page.
    if (!conv.loaded) return;
    if (conv.messages.some((m) => m.msgId === msg.msgId)) return;
    conv.messages.push(msg);
    conv.messages.sort((a, b) => a.msgId - b.msgId);
    this.changed('conversation', conv.key);
  }

  private markRead(conv: Conversation): void {
    const latest = conv.messages[conv.messages.length - 1]?.msgId;
    if (latest !== undefined) this.client.readAck(conv.type, conv.id, latest);
    if (conv.unread !== 0) {
      conv.unread = 0;
      this.changed('unread', conv.key);
    }
  }

  private setPresence(userId: number, online: boolean, notify = true): void {
    const c = this.contacts.get(userId);
    if (!c || c.online === online) return;
    c.online = online;
    if (notify) this.changed('presence', String(userId));
  }

  private addGroup(g: IM.BaseDefine.GroupInfo.$Properties): void {
    this.groups.set(g.groupId, { id: g.groupId, name: g.groupName || `group ${g.groupId}`, memberIds: g.groupMemberList ?? [] });
  }

  private async fetchGroup(groupId: number): Promise<void> {
    for (const g of await this.client.groups.groupInfo([{ groupId, version: 0 }])) this.addGroup(g);
    this.changed('contacts');
  }

  private parts(data: Uint8Array, msgType: MsgType): ContentPart[] {
    return messageParts(data, isAudio(msgType), { msfsUrl: this.msfsUrl });
  }

  private changed(kind: ChangeKind, key?: string): void {
    this.dispatchEvent(new CustomEvent('change', { detail: { kind, key } }));
  }
}
