import type * as grpc from '@grpc/grpc-js';
import { CID, IM, commandName, isMobileClient, sameClientClass, serviceIdOf, tiertalk } from '@tiertalk/proto';
import type { PushAck, PushBatch } from '@tiertalk/proto';
import { PDU_HEADER_LENGTH, encodeFrame } from '@tiertalk/pdu';
import type { Connection } from './conn/connection';
import { DeliveredMessages } from './delivered-messages';
import type { GatewayContext } from './gateway-context';
import type { GroupPushControl } from './group-push/traffic-control';
import { countPresenceNotifies } from './presence-metrics';

const KNOWN_COMMANDS: ReadonlySet<number> = new Set(Object.values(CID).filter((v): v is number => typeof v === 'number'));

const { CLIENT_CLASS_ANY, CLIENT_CLASS_PC, CLIENT_CLASS_MOBILE } = tiertalk.ClientClass;
const { MESSAGE_KIND_SINGLE, MESSAGE_KIND_GROUP } = tiertalk.MessageKind;

// Messages (1:1 and group) remembered with the connections they were written
// to, so a resent push is not shown twice (delivered-messages.ts).
const RECENT_MSGS_MAX = 65_536;
const RECENT_MSG_CONNS_MAX = 1_048_576;

/**
 * The Gateway.Push server: route's pushes become PDUs on local connections
 * (ARCHITECTURE.md message path step 7). Each push is encoded once, seq 0.
 * Group messages go through the traffic control (src/group-push); every
 * other push is written at once, so 1:1 traffic never waits behind a group.
 */
export class PushReceiver {
  private readonly delivered = new DeliveredMessages(RECENT_MSGS_MAX, RECENT_MSG_CONNS_MAX);

  constructor(
    private readonly ctx: GatewayContext,
    private readonly groupPushes: GroupPushControl<Connection>,
  ) {}

  /** Applies every item; returns how many were valid. */
  applyBatch(batch: PushBatch): number {
    let applied = 0;
    for (const push of batch.items) {
      try {
        if (this.apply(push)) applied += 1;
      } catch (err) {
        this.ctx.log.error({ err, cid: push.commandId }, 'push item failed');
      }
    }
    return applied;
  }

  /** false when the item was invalid and skipped. */
  apply(push: tiertalk.Push.$Properties): boolean {
    const { commandId: cid, body } = push;
    if (cid === CID.CID_OTHER_SERVER_KICK_USER) return this.kick(push);
    if (!KNOWN_COMMANDS.has(cid)) {
      this.ctx.log.warn({ cid, command: commandName(cid) }, 'push with an unknown command skipped');
      return false;
    }
    const clientClass = push.clientClass ?? CLIENT_CLASS_ANY;
    if (clientClass !== CLIENT_CLASS_ANY && clientClass !== CLIENT_CLASS_PC && clientClass !== CLIENT_CLASS_MOBILE) {
      this.ctx.log.warn({ cid, clientClass }, 'push with an unknown client class skipped');
      return false;
    }
    if (cid === CID.CID_BUDDY_LIST_STATUS_NOTIFY && (push.presence?.length ?? 0) > 0) {
      this.writePresence(push, clientClass);
      return true;
    }
    if (body.length + PDU_HEADER_LENGTH > this.ctx.config.conn.maxFrameBytes) {
      this.ctx.log.warn({ cid, bodyBytes: body.length }, 'oversize push skipped');
      return false;
    }
    // Stored messages are known by the push's fields (set by their sender's gateway), never by decoding the body.
    let awaited: { from: number; msgId: number } | undefined;
    let groupMsg: string | undefined;
    let singleMsg: string | undefined;
    const msgId = push.msgId ?? 0;
    const from = push.fromUserId ?? 0;
    const to = push.toSessionId ?? 0;
    // docs/FLOWS.md §10.2 step 4: no awaiting-ack tracking for group messages.
    if (push.kind === MESSAGE_KIND_GROUP) groupMsg = `g${to}:${msgId}`;
    else if (push.kind === MESSAGE_KIND_SINGLE) {
      singleMsg = `${from}:${to}:${msgId}`;
      awaited = { from, msgId };
    }
    // docs/PROTOCOL.md §1: server-initiated pushes carry seq_num 0.
    const pdu = encodeFrame(serviceIdOf(cid), cid, 0, body);
    if (push.allUsers) {
      this.broadcast(pdu, clientClass, push.originConnId ?? 0);
      return true;
    }
    if (groupMsg !== undefined) {
      this.pushGroupMessage(groupMsg, pdu, push, clientClass);
      return true;
    }
    const targets = this.deliverableTargets(push, clientClass);
    const fresh = singleMsg === undefined ? targets : this.firstTime(singleMsg, targets);
    const now = Date.now();
    for (const conn of fresh) {
      if (!conn.send(pdu)) continue;
      if (awaited) conn.awaiting.add(awaited.from, awaited.msgId, now);
    }
    return true;
  }

  /**
   * Route's coalesced presence (docs/FLOWS.md §5): one IMUserStatNotify per
   * listed user (stock clients read one user_stat per PDU), each frame
   * encoded once. A receiver's frames are written in one turn, so its
   * transport sends them as one corked write.
   */
  private writePresence(push: tiertalk.Push.$Properties, clientClass: number): void {
    const changes = push.presence ?? [];
    const frames: Buffer[] = [];
    const excludedAnywhere = new Set<number>();
    for (const c of changes) {
      const body = IM.Buddy.IMUserStatNotify.encode({ userStat: { userId: c.userId, status: c.status } }).finish();
      frames.push(encodeFrame(serviceIdOf(CID.CID_BUDDY_LIST_STATUS_NOTIFY), CID.CID_BUDDY_LIST_STATUS_NOTIFY, 0, body));
      for (const id of c.excludeConnIds ?? []) excludedAnywhere.add(id);
    }
    const receivers = push.allUsers ? this.ctx.connections.all() : this.targets(push);
    let written = 0;
    for (const conn of receivers) {
      if (!conn.deliverable || !inClass(conn, clientClass)) continue;
      if (!excludedAnywhere.has(conn.id)) {
        for (const pdu of frames) if (conn.send(pdu)) written += 1;
        continue;
      }
      for (let i = 0; i < frames.length; i++) {
        if (changes[i]?.excludeConnIds?.includes(conn.id)) continue;
        if (conn.send(frames[i] as Buffer)) written += 1;
      }
    }
    countPresenceNotifies(changes.length, written);
  }

  /** The connections of `targets` this message was not written to yet (a resent push skips the others). */
  private firstTime(message: string, targets: readonly Connection[]): readonly Connection[] {
    const fresh = this.delivered.firstTimeFor(message, targets);
    if (fresh.length < targets.length) this.ctx.log.debug({ message, skipped: targets.length - fresh.length }, 'repeated message push skipped');
    return fresh;
  }

  /**
   * docs/FLOWS.md §10.2 step 4: every local connection of the listed members except
   * the origin, through the traffic control; a connection that already got
   * this (group, msg id) is skipped.
   */
  private pushGroupMessage(key: string, pdu: Buffer, push: tiertalk.Push.$Properties, clientClass: number): void {
    const fresh = this.firstTime(key, this.deliverableTargets(push, clientClass));
    if (fresh.length > 0) this.groupPushes.submit(pdu, fresh);
  }

  private deliverableTargets(push: tiertalk.Push.$Properties, clientClass: number): Connection[] {
    const out: Connection[] = [];
    for (const conn of this.targets(push)) if (conn.deliverable && inClass(conn, clientClass)) out.push(conn);
    return out;
  }

  /**
   * all_users: every logged-in connection of this gateway, optionally of one
   * client class (TeamTalk's CImUserManager::BroadcastPdu: IMUserStatNotify to
   * PC clients, IMSignInfoChangedNotify to all). The frame is shared.
   */
  private broadcast(pdu: Buffer, clientClass: number, excludeConnId: number): void {
    for (const conn of this.ctx.connections.all()) {
      if (conn.id === excludeConnId || !conn.deliverable || !inClass(conn, clientClass)) continue;
      conn.send(pdu);
    }
  }

  /** Exactly conn_ids, or every connection of to_user_ids except origin_conn_id. */
  private targets(push: tiertalk.Push.$Properties): Set<Connection> {
    const out = new Set<Connection>();
    const connIds = push.connIds ?? [];
    if (connIds.length > 0) {
      for (const id of connIds) {
        const conn = this.ctx.connections.get(id);
        if (conn) out.add(conn);
      }
      return out;
    }
    const exclude = push.originConnId ?? 0;
    for (const userId of push.toUserIds ?? []) {
      for (const conn of this.ctx.connections.connectionsOf(userId)) {
        if (conn.id !== exclude) out.add(conn);
      }
    }
    return out;
  }

  /** CID_OTHER_SERVER_KICK_USER: another login displaced these connections (docs/FLOWS.md §2 step 6.3). */
  private kick(push: tiertalk.Push.$Properties): boolean {
    let req: IM.Server.IMServerKickUser;
    try {
      req = IM.Server.IMServerKickUser.decode(push.body);
    } catch (err) {
      this.ctx.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'undecodable kick push skipped');
      return false;
    }
    const reason = req.reason === IM.BaseDefine.KickReasonType.KICK_REASON_MOBILE_KICK
      ? IM.BaseDefine.KickReasonType.KICK_REASON_MOBILE_KICK
      : IM.BaseDefine.KickReasonType.KICK_REASON_DUPLICATE_USER;
    let victims: Connection[];
    const connIds = push.connIds ?? [];
    if (connIds.length > 0) {
      victims = [];
      for (const id of connIds) {
        const conn = this.ctx.connections.get(id);
        // The id may have been reused or the user may have left meanwhile.
        if (conn && conn.userId === req.userId) victims.push(conn);
      }
    } else {
      victims = [...this.ctx.connections.connectionsOf(req.userId)].filter(
        (c) => c.id !== (push.originConnId ?? 0) && sameClientClass(c.clientType, req.clientType),
      );
    }
    for (const conn of victims) conn.kick(reason);
    this.ctx.log.info({ userId: req.userId, reason, kicked: victims.length }, 'remote kick');
    return true;
  }
}

function inClass(conn: Connection, clientClass: number): boolean {
  if (clientClass === CLIENT_CLASS_PC) return !isMobileClient(conn.clientType);
  if (clientClass === CLIENT_CLASS_MOBILE) return isMobileClient(conn.clientType);
  return true;
}

/**
 * Acknowledges applied PushBatches on one Push stream: a cumulative count,
 * written once per event-loop turn however many batches that turn applied
 * (route keeps each batch until acknowledged and resends the rest).
 */
class PushAcks {
  private applied = 0;
  private timer: NodeJS.Immediate | undefined;
  private stopped = false;

  constructor(private readonly call: grpc.ServerDuplexStream<PushBatch, PushAck>) {}

  batchApplied(): void {
    this.applied += 1;
    this.timer ??= setImmediate(() => this.flush());
  }

  flush(): void {
    clearImmediate(this.timer);
    this.timer = undefined;
    if (this.stopped || this.applied === 0) return;
    const batches = this.applied;
    this.applied = 0;
    this.call.write(tiertalk.PushAck.create({ batches }));
  }

  stop(): void {
    this.stopped = true;
    clearImmediate(this.timer);
    this.timer = undefined;
  }
}

/** grpc-js implementation of tiertalk.Gateway (one long-lived Push stream per route instance). */
export function createGatewayService(
  ctx: GatewayContext,
  groupPushes: GroupPushControl<Connection>,
  onResyncRequest: () => void = () => undefined,
): grpc.UntypedServiceImplementation {
  const receiver = new PushReceiver(ctx, groupPushes);
  const Push: grpc.handleBidiStreamingCall<PushBatch, PushAck> = (call) => {
    const acks = new PushAcks(call);
    call.on('data', (batch: PushBatch) => {
      // route lost its session registry: list our sessions again (upstream/session-sync.ts).
      if (batch.resyncSessions) onResyncRequest();
      receiver.applyBatch(batch);
      acks.batchApplied();
    });
    call.on('end', () => {
      acks.flush();
      acks.stop();
      call.end();
    });
    call.on('cancelled', () => acks.stop());
    call.on('error', (err) => {
      acks.stop();
      ctx.log.debug({ err }, 'push stream ended with an error');
    });
  };
  return { Push };
}
