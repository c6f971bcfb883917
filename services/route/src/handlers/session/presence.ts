import { CID, IM, isMobileClient, tiertalk } from '@tiertalk/proto';
import type { Arrival, Departure, Session, SessionKey } from '../../session-store';
import type { PresenceOrigin, PushSink } from '../types';

const { USER_STATUS_ONLINE, USER_STATUS_OFFLINE } = IM.BaseDefine.UserStatType;

const { CLIENT_CLASS_MOBILE } = tiertalk.ClientClass;

/** The connection whose state changed: never told about its own change by route (its gateway does that, after the login response). */
type Origin = PresenceOrigin;

const isPc = (clientType: number): boolean => !isMobileClient(clientType);

/**
 * docs/FLOWS.md §5 (TeamTalk route_server `_HandleUserStatusUpdate`) for a new
 * session of `ref.userId`; `before` are the user's other sessions.
 * - Mobiles: IMPCLoginStatusNotify ONLINE to the user's mobile connections
 *   whenever a session appears while a PC session exists (PC or mobile login).
 * - Buddies: every PC login broadcasts IMUserStatNotify ONLINE to every PC
 *   connection on every gateway (TeamTalk sends it for each PC login, not only
 *   the first; mobile logins never cause it, docs/FLOWS.md §14 P3), coalesced
 *   per gateway over a short interval (GatewayLinks.notifyPcStatus).
 * The logging-in connection is excluded from both: it is not open yet when
 * route answers, so its gateway tells it after the login response
 * (services/msg handlers/login/own-presence.ts). Returns the pushes queued
 * (mobile notifies, and the gateways the desktop change is queued for).
 */
export function presenceOnLogin(links: PushSink, ref: SessionKey & { clientType: number }, before: readonly Session[]): number {
  const origin: Origin = { gatewayId: ref.gatewayId, connId: ref.connId };
  const pcLogin = isPc(ref.clientType);
  let pushes = 0;
  if (pcLogin || before.some((s) => isPc(s.clientType))) {
    pushes += notifyMobiles(links, ref.userId, USER_STATUS_ONLINE, before, origin);
  }
  if (pcLogin) pushes += broadcastPcStatus(links, ref.userId, USER_STATUS_ONLINE, origin);
  return pushes;
}

/**
 * docs/FLOWS.md §5 / §12 for a session that ended: only when it was the user's
 * last PC session, IMPCLoginStatusNotify OFFLINE to the user's remaining
 * mobiles and IMUserStatNotify OFFLINE to every PC connection. Nothing for a
 * mobile logout, for a PC logout while another PC session remains (docs/FLOWS.md §14
 * P2), or for a session that was already gone (`removedType` undefined).
 */
export function presenceOnLogout(links: PushSink, userId: number, removedType: number | undefined, remaining: readonly Session[]): number {
  if (removedType === undefined || !isPc(removedType)) return 0;
  if (remaining.some((s) => isPc(s.clientType))) return 0;
  return notifyMobiles(links, userId, USER_STATUS_OFFLINE, remaining) + broadcastPcStatus(links, userId, USER_STATUS_OFFLINE);
}

/** 0x020e to the user's mobile connections, only on gateways that hold one. */
function notifyMobiles(
  links: PushSink,
  userId: number,
  loginStat: IM.BaseDefine.UserStatType,
  sessions: readonly Session[],
  origin?: Origin,
): number {
  const gateways = new Set(sessions.filter((s) => isMobileClient(s.clientType)).map((s) => s.gatewayId));
  if (gateways.size === 0) return 0;
  const body = IM.Buddy.IMPCLoginStatusNotify.encode({ userId, loginStat }).finish();
  let pushes = 0;
  for (const gatewayId of gateways) {
    const push: tiertalk.Push.$Properties = {
      commandId: CID.CID_BUDDY_LIST_PC_LOGIN_STATUS_NOTIFY,
      body,
      toUserIds: [userId],
      clientClass: CLIENT_CLASS_MOBILE,
    };
    if (origin && origin.gatewayId === gatewayId) push.originConnId = origin.connId;
    if (links.send(gatewayId, [push])) pushes += 1;
  }
  return pushes;
}

/** 0x0203 to every PC connection of every logged-in user, gathered per gateway (docs/FLOWS.md §5 coalescing). */
function broadcastPcStatus(links: PushSink, userId: number, status: IM.BaseDefine.UserStatType, origin?: Origin): number {
  return links.notifyPcStatus(userId, status, origin);
}

/**
 * Sessions that ended without a Logout (a dead gateway purged, ghosts removed
 * by a sync): the same notifies their logouts would have caused, once per
 * user. Returns the pushes queued.
 */
export function presenceOnDepartures(links: PushSink, departures: readonly Departure[]): number {
  let pushes = 0;
  for (const d of departures) {
    const removed = d.removedTypes.find(isPc) ?? d.removedTypes[0];
    pushes += presenceOnLogout(links, d.userId, removed, d.remaining);
  }
  return pushes;
}

/** Sessions a sync registered again after they had been removed: the same notifies as their logins. */
export function presenceOnArrivals(links: PushSink, gatewayId: string, arrivals: readonly Arrival[]): number {
  let pushes = 0;
  for (const a of arrivals) pushes += presenceOnLogin(links, { gatewayId, connId: a.connId, userId: a.userId, clientType: a.clientType }, a.before);
  return pushes;
}
