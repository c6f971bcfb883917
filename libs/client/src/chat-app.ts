// The terminal chat client's behaviour, apart from the terminal: sessions,
// history, sending, live messages and read state over one logged-in
// TeamTalkClient. Commands and server pushes run one at a time in arrival
// order, so what is printed never interleaves; everything shown goes through
// `print`.
import { IM, isGroupMsgType, encryptContent } from '@tiertalk/proto';
import { HELP_TEXT, contentText, formatTime, messageLine, preview, sessionTable, statusText } from './chat-format';
import type { CloseInfo, SessionType, TeamTalkClient } from './node-client';
import { isClientError } from './errors';

const SINGLE = IM.BaseDefine.SessionType.SESSION_TYPE_SINGLE;
const GROUP = IM.BaseDefine.SessionType.SESSION_TYPE_GROUP;
/** docs/PROTOCOL.md §1: TeamTalk's MAX_MSG_LEN. */
const MAX_CONTENT_BYTES = 4096;
const LOGOUT_TIMEOUT_MS = 3000;

export interface ChatAppOptions {
  aesKey: string;
  encrypt: boolean;
  pageSize: number;
  /** Prints complete lines (several when the text holds newlines). */
  print(text: string): void;
  /** The session ended without quit(): kicked or connection lost. */
  onEnd(code: number, reason: string): void;
  now?: () => Date;
}

interface Session {
  type: SessionType;
  id: number;
  unread: number;
  latestMsgId: number;
  /** UNIX seconds of the latest activity (0 = unknown). */
  latestTime: number;
  latestText: string;
}

interface Conversation {
  peerId: number;
  /** msg ids printed in this conversation: a message is shown once. */
  shown: Set<number>;
  /** Lowest msg id loaded; /more continues below it. */
  oldest: number | undefined;
  /** My newest message here: what /recall and /seen are about. */
  lastMine: number | undefined;
}

function keyOf(type: SessionType, id: number): string {
  return `${type === GROUP ? 'g' : 'u'}${id}`;
}

function errorText(err: unknown): string {
  if (isClientError(err, 'REQUEST_TIMEOUT')) return 'no answer from the server (not supported there?)';
  return err instanceof Error ? err.message : String(err);
}

export class ChatApp {
  private readonly sessions = new Map<string, Session>();
  /** Highest msg id read per session (by me here or on another device): newer server counts up to it are stale. */
  private readonly readUpTo = new Map<string, number>();
  private readonly users = new Map<number, IM.BaseDefine.UserInfo.$Properties>();
  private directoryLoaded = false;
  private open: Conversation | undefined;
  private queue: Promise<void> = Promise.resolve();
  private quitting = false;
  private readonly now: () => Date;

  constructor(
    private readonly client: TeamTalkClient,
    private readonly opts: ChatAppOptions,
  ) {
    this.now = opts.now ?? (() => new Date());
  }

  private get me(): number {
    return this.client.userId ?? 0;
  }

  /** The name of the open conversation's peer, if any. */
  get openPeerName(): string | undefined {
    return this.open === undefined ? undefined : this.name(this.open.peerId);
  }

  /** Listens to the client and shows the session list. The client must be logged in. */
  async start(): Promise<void> {
    const self = this.client.userInfo;
    if (self) this.users.set(self.userId, self);
    this.client.on('message', (m) => this.enqueue(() => this.onMessage(m)));
    this.client.on('readNotify', (n) => this.enqueue(() => this.onReadNotify(n)));
    this.client.on('removeSessionNotify', (n) => this.enqueue(() => this.onRemoveSessionNotify(n)));
    this.client.on('recalled', (n) => this.enqueue(() => this.onRecalled(n)));
    this.client.on('readReceipt', (n) => this.enqueue(() => this.onReadReceipt(n)));
    this.client.on('kick', (k) => this.end(`signed out: ${k.kickReason === IM.BaseDefine.KickReasonType.KICK_REASON_MOBILE_KICK ? 'your phone logged this client out' : 'you logged in somewhere else'}`));
    this.client.on('close', (info) => this.onClose(info));
    await this.enqueue(async () => {
      await this.refresh();
      this.printSessions();
      this.opts.print('Type /help for commands.');
    });
  }

  /** One line of input; resolves once it is handled (a failure is printed), with 'quit' after /quit. */
  async handleLine(line: string): Promise<'quit' | undefined> {
    const outcome: { result?: 'quit' } = {};
    await this.enqueue(async () => {
      outcome.result = await this.command(line.trim());
    });
    return outcome.result;
  }

  /** Logs out (or closes when the server does not answer). */
  async quit(): Promise<void> {
    this.quitting = true;
    await this.queue;
    if (this.client.isClosed) return;
    const timer = setTimeout(() => this.client.close('logout timed out'), LOGOUT_TIMEOUT_MS);
    try {
      await this.client.logout();
    } catch (err) {
      if (!isClientError(err, 'CLOSED')) this.client.close(`logout failed: ${errorText(err)}`);
    } finally {
      clearTimeout(timer);
      this.client.close();
    }
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(step).catch((err: unknown) => this.opts.print(`! ${errorText(err)}`));
    return this.queue;
  }

  private async command(line: string): Promise<'quit' | undefined> {
    if (line === '') return undefined;
    // "//text" sends "/text".
    if (!line.startsWith('/') || line.startsWith('//')) {
      await this.send(line.startsWith('//') ? line.slice(1) : line);
      return undefined;
    }
    const [cmd, ...rest] = line.split(/\s+/);
    const arg = rest.join(' ');
    switch (cmd) {
      case '/list':
        await this.refresh();
        this.printSessions();
        return undefined;
      case '/open':
        if (arg === '') this.opts.print('! usage: /open <user>');
        else await this.openConversation(arg);
        return undefined;
      case '/more':
        await this.more();
        return undefined;
      case '/who':
        await this.who();
        return undefined;
      case '/recall':
        await this.recallLast();
        return undefined;
      case '/seen':
        await this.seenLast();
        return undefined;
      case '/help':
        this.opts.print(HELP_TEXT.join('\n'));
        return undefined;
      case '/quit':
      case '/exit':
        return 'quit';
      default:
        this.opts.print(`! unknown command ${cmd} (/help lists them)`);
        return undefined;
    }
  }

  // ---- sessions ----

  private session(type: SessionType, id: number): Session {
    const key = keyOf(type, id);
    let s = this.sessions.get(key);
    if (!s) {
      s = { type, id, unread: 0, latestMsgId: 0, latestTime: 0, latestText: '' };
      this.sessions.set(key, s);
    }
    return s;
  }

  /** docs/FLOWS.md §7.1, §8: recent sessions and unread counters from the server. */
  private async refresh(): Promise<void> {
    const [recent, unread] = await Promise.allSettled([this.client.recentSessions(0), this.client.unreadCounts()]);
    this.sessions.clear();
    if (recent.status === 'fulfilled') {
      for (const c of recent.value.contactSessionList) {
        const s = this.session(c.sessionType, c.sessionId);
        s.latestMsgId = c.latestMsgId;
        s.latestTime = c.updatedTime;
        s.latestText = contentText(c.latestMsgType, c.latestMsgData, this.opts.aesKey);
      }
    } else {
      this.opts.print(`! could not load recent sessions: ${errorText(recent.reason)}`);
    }
    if (unread.status === 'fulfilled') {
      for (const u of unread.value.unreadinfoList) {
        const s = this.session(u.sessionType, u.sessionId);
        const read = this.readUpTo.get(keyOf(u.sessionType, u.sessionId)) ?? 0;
        s.unread = u.latestMsgId > read ? u.unreadCnt : 0;
        if (u.latestMsgId >= s.latestMsgId) {
          s.latestMsgId = u.latestMsgId;
          s.latestText = contentText(u.latestMsgType, u.latestMsgData, this.opts.aesKey);
        }
      }
    } else {
      this.opts.print(`! could not load unread counts: ${errorText(unread.reason)}`);
    }
    await this.loadNames([...this.sessions.values()].filter((s) => s.type === SINGLE).map((s) => s.id));
  }

  private printSessions(): void {
    const list = [...this.sessions.values()].sort((a, b) => b.latestTime - a.latestTime || b.latestMsgId - a.latestMsgId);
    const now = this.now();
    const rows = list.map((s) => ({
      name: this.sessionName(s.type, s.id),
      unread: s.unread,
      time: s.latestTime > 0 ? formatTime(s.latestTime, now) : '',
      preview: preview(s.latestText),
    }));
    this.opts.print([`Recent sessions:`, ...sessionTable(rows)].join('\n'));
  }

  // ---- users ----

  /** docs/FLOWS.md §9: profiles of users not known yet; a failure leaves them shown by id. */
  private async loadNames(ids: readonly number[]): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => id !== 0 && !this.users.has(id));
    if (missing.length === 0) return;
    try {
      for (const u of await this.client.usersInfo(missing)) this.users.set(u.userId, u);
    } catch (err) {
      this.opts.print(`! could not load user names: ${errorText(err)}`);
    }
  }

  private name(userId: number): string {
    const u = this.users.get(userId);
    return u?.userRealName || u?.userNickName || `#${userId}`;
  }

  private sessionName(type: SessionType, id: number): string {
    return type === GROUP ? `group ${id}` : this.name(id);
  }

  /** A login name (exact, then ignoring case, then the nick) or a numeric user id. */
  private async resolveUser(arg: string): Promise<number | undefined> {
    if (/^\d+$/.test(arg)) {
      const id = Number(arg);
      await this.loadNames([id]);
      return this.users.has(id) ? id : undefined;
    }
    const find = (): number | undefined => {
      const all = [...this.users.values()];
      const lower = arg.toLowerCase();
      return (
        all.find((u) => u.userRealName === arg) ??
        all.find((u) => u.userRealName.toLowerCase() === lower) ??
        all.find((u) => u.userNickName.toLowerCase() === lower)
      )?.userId;
    };
    const known = find();
    if (known !== undefined || this.directoryLoaded) return known;
    const directory = await this.client.allUsers(0);
    this.directoryLoaded = true;
    for (const u of directory.userList) if (!this.users.has(u.userId)) this.users.set(u.userId, u);
    return find();
  }

  // ---- a conversation ----

  private async openConversation(arg: string): Promise<void> {
    const peerId = await this.resolveUser(arg);
    if (peerId === undefined) {
      this.opts.print(`! no user ${JSON.stringify(arg)}`);
      return;
    }
    if (peerId === this.me) {
      this.opts.print('! that is you');
      return;
    }
    this.open = { peerId, shown: new Set(), oldest: undefined, lastMine: undefined };
    this.opts.print(`── ${this.name(peerId)} ──`);
    await this.loadPage(this.open, 0);
  }

  private async more(): Promise<void> {
    const c = this.open;
    if (!c) {
      this.opts.print('! no open conversation: /open <user> first');
      return;
    }
    if (c.oldest === undefined || c.oldest <= 1) {
      this.opts.print('(no older messages)');
      return;
    }
    this.opts.print(`── earlier with ${this.name(c.peerId)} ──`);
    await this.loadPage(c, c.oldest - 1);
  }

  /** docs/FLOWS.md §7.2: one history page, printed oldest first; the newest page is then marked read (§6). */
  private async loadPage(c: Conversation, msgIdBegin: number): Promise<void> {
    const page = await this.client.messageList(SINGLE, c.peerId, msgIdBegin, this.opts.pageSize);
    const msgs = [...page.msgList].sort((a, b) => a.msgId - b.msgId);
    if (msgs.length === 0) {
      this.opts.print(msgIdBegin === 0 ? '(no messages yet; type a line to send one)' : '(no older messages)');
      return;
    }
    const now = this.now();
    for (const m of msgs) {
      if (c.shown.has(m.msgId)) continue;
      c.shown.add(m.msgId);
      if (m.fromSessionId === this.me && !m.recallTime) c.lastMine = Math.max(c.lastMine ?? 0, m.msgId);
      const text = contentText(m.msgType, m.msgData, this.opts.aesKey);
      this.opts.print(messageLine({ time: formatTime(m.createTime, now), from: this.name(m.fromSessionId), text, note: m.recallTime ? 'recalled' : undefined }));
    }
    c.oldest = Math.min(c.oldest ?? Infinity, msgs[0].msgId);
    if (msgIdBegin === 0) this.markRead(SINGLE, c.peerId, msgs[msgs.length - 1].msgId);
    if (c.oldest > 1) this.opts.print('(/more for older messages)');
  }

  private markRead(type: SessionType, id: number, msgId: number): void {
    const key = keyOf(type, id);
    this.readUpTo.set(key, Math.max(this.readUpTo.get(key) ?? 0, msgId));
    const s = this.sessions.get(key);
    if (s) s.unread = 0;
    this.client.readAck(type, id, msgId);
  }

  private async send(text: string): Promise<void> {
    const c = this.open;
    if (!c) {
      this.opts.print('! no open conversation: /open <user> first (/help lists the commands)');
      return;
    }
    const content = this.opts.encrypt ? encryptContent(text, this.opts.aesKey) : Buffer.from(text, 'utf8');
    if (content.length > MAX_CONTENT_BYTES) {
      this.opts.print(`! not sent: ${content.length} bytes, at most ${MAX_CONTENT_BYTES}`);
      return;
    }
    let msgId: number;
    try {
      ({ msgId } = await this.client.sendText(c.peerId, content));
    } catch (err) {
      this.opts.print(`! not sent: ${errorText(err)}`);
      return;
    }
    c.shown.add(msgId);
    c.lastMine = msgId;
    const nowSec = Math.floor(this.now().getTime() / 1000);
    const s = this.session(SINGLE, c.peerId);
    Object.assign(s, { latestMsgId: Math.max(s.latestMsgId, msgId), latestTime: nowSec, latestText: text });
    this.opts.print(messageLine({ time: formatTime(nowSec, this.now()), from: this.name(this.me), text }));
  }

  private async who(): Promise<void> {
    const ids = [...this.sessions.values()].filter((s) => s.type === SINGLE && s.id !== this.me).map((s) => s.id);
    if (this.open && !ids.includes(this.open.peerId)) ids.push(this.open.peerId);
    if (ids.length === 0) {
      this.opts.print('(nobody in your sessions yet)');
      return;
    }
    const stats = await this.client.usersStatus(ids);
    const width = Math.max(...stats.map((s) => this.name(s.userId).length));
    this.opts.print(stats.map((s) => `  ${this.name(s.userId).padEnd(width)}  ${statusText(s.status)}`).join('\n'));
  }

  /** TierTalk extension (docs/PROTOCOL.md §6): recall my newest message of the open conversation. */
  private async recallLast(): Promise<void> {
    const c = this.open;
    if (!c || c.lastMine === undefined) {
      this.opts.print(c ? '! nothing of yours to recall here' : '! no open conversation: /open <user> first');
      return;
    }
    try {
      await this.client.recall(SINGLE, c.peerId, c.lastMine);
    } catch (err) {
      this.opts.print(`! not recalled: ${errorText(err)}`);
      return;
    }
    this.opts.print(`· your message ${c.lastMine} was recalled`);
    c.lastMine = undefined;
  }

  /** TierTalk extension: whether the peer has read my newest message of the open conversation. */
  private async seenLast(): Promise<void> {
    const c = this.open;
    if (!c || c.lastMine === undefined) {
      this.opts.print(c ? '! you have sent nothing here' : '! no open conversation: /open <user> first');
      return;
    }
    const rsp = await this.client.readers(SINGLE, c.peerId, c.lastMine);
    this.opts.print(rsp.readCount > 0 ? `· ${this.name(c.peerId)} has read your last message` : `· ${this.name(c.peerId)} has not read your last message yet`);
  }

  // ---- pushes ----

  /** TierTalk extension: a message was recalled by its sender (printed where it was shown). */
  private async onRecalled(n: IM.Message.IMMsgRecallNotify): Promise<void> {
    await this.loadNames([n.fromUserId]);
    const who = n.fromUserId === this.me ? 'you (on another device)' : this.name(n.fromUserId);
    const where = n.sessionType === GROUP ? ` in group ${n.toSessionId}` : '';
    this.opts.print(`· ${who} recalled message ${n.msgId}${where}`);
  }

  /** TierTalk extension: the 1:1 peer read my messages. */
  private async onReadReceipt(n: IM.Message.IMMsgReadReceiptNotify): Promise<void> {
    await this.loadNames([n.readerId]);
    this.opts.print(`· ${this.name(n.readerId)} read your messages up to ${n.msgId}`);
  }

  private async onMessage(m: IM.Message.IMMsgData): Promise<void> {
    const now = this.now();
    const time = formatTime(m.createTime, now);
    const text = contentText(m.msgType, m.msgData, this.opts.aesKey);
    const mine = m.fromUserId === this.me;
    if (isGroupMsgType(m.msgType)) {
      await this.loadNames([m.fromUserId]);
      const s = this.session(GROUP, m.toSessionId);
      Object.assign(s, { latestMsgId: Math.max(s.latestMsgId, m.msgId), latestTime: m.createTime, latestText: text, unread: mine ? s.unread : s.unread + 1 });
      this.opts.print(messageLine({ time, from: this.name(m.fromUserId), to: `group ${m.toSessionId}`, text }));
      return;
    }
    const peer = mine ? m.toSessionId : m.fromUserId;
    await this.loadNames([peer]);
    const s = this.session(SINGLE, peer);
    Object.assign(s, { latestMsgId: Math.max(s.latestMsgId, m.msgId), latestTime: m.createTime, latestText: text });
    const c = this.open;
    if (c && c.peerId === peer) {
      if (c.shown.has(m.msgId)) return;
      c.shown.add(m.msgId);
      this.opts.print(messageLine({ time, from: this.name(m.fromUserId), text, note: mine ? 'from your other device' : undefined }));
      // The conversation is on screen: it is read (docs/FLOWS.md §6).
      if (!mine) this.markRead(SINGLE, peer, m.msgId);
      return;
    }
    if (mine) {
      this.opts.print(messageLine({ time, from: this.name(this.me), to: this.name(peer), text, note: 'from your other device' }));
      return;
    }
    s.unread += 1;
    this.opts.print(messageLine({ time, from: this.name(peer), text, note: `${s.unread} unread, /open ${this.name(peer)}` }));
  }

  /** docs/FLOWS.md §6: I read a session on another device. */
  private async onReadNotify(n: IM.Message.IMMsgDataReadNotify): Promise<void> {
    const key = keyOf(n.sessionType, n.sessionId);
    this.readUpTo.set(key, Math.max(this.readUpTo.get(key) ?? 0, n.msgId));
    const s = this.sessions.get(key);
    if (s) s.unread = 0;
    if (n.sessionType === SINGLE) await this.loadNames([n.sessionId]);
    this.opts.print(`${formatTime(Math.floor(this.now().getTime() / 1000), this.now())} · ${this.sessionName(n.sessionType, n.sessionId)}: read on another device`);
  }

  /** docs/FLOWS.md §8: I removed a session on another device. */
  private async onRemoveSessionNotify(n: IM.Buddy.IMRemoveSessionNotify): Promise<void> {
    this.sessions.delete(keyOf(n.sessionType, n.sessionId));
    if (n.sessionType === SINGLE) await this.loadNames([n.sessionId]);
    this.opts.print(`· ${this.sessionName(n.sessionType, n.sessionId)}: removed from recent sessions on another device`);
  }

  private onClose(info: CloseInfo): void {
    if (this.quitting) return;
    this.end(`connection closed: ${info.reason}`);
  }

  private end(reason: string): void {
    if (this.quitting) return;
    this.quitting = true;
    this.opts.print(`! ${reason}`);
    this.client.close(reason);
    this.opts.onEnd(1, reason);
  }
}
