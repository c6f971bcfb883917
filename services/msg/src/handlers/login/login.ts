import { CID, IM, nowSec, sameClientClass } from '@tiertalk/proto';
import type { Frame } from '@tiertalk/pdu';
import type { Connection } from '../../conn/connection';
import type { GatewayContext } from '../../gateway-context';
import { countLogin, refusedLoginResult } from './login-metrics';
import { tellOwnPresence } from './own-presence';
import { peerIp } from './peer-ip';
import { sessionRef } from './session-ref';

const { ResultType, UserStatType, KickReasonType } = IM.BaseDefine;

/** docs/FLOWS.md §2: IMLoginReq → validate (db-proxy) → kick → register (route) → IMLoginRes. */
export async function onLoginReq(ctx: GatewayContext, conn: Connection, req: IM.Login.IMLoginReq, frame: Frame): Promise<void> {
  const status = coerceStatus(req.onlineStatus);
  if (!conn.beginLogin(req.clientType, status)) {
    // docs/FLOWS.md §2: a second IMLoginReq on a connection is ignored.
    conn.log.info({ state: conn.state }, 'repeated login request ignored');
    return;
  }
  const log = conn.log;
  log.debug({ userName: req.userName, clientType: req.clientType, clientVersion: req.clientVersion }, 'login request');

  // Preconditions answer at once rather than waiting on a deadline (docs/PROTOCOL.md §3.1 ResultType).
  if (!ctx.db.hasInstance()) return refuse(conn, frame, ResultType.REFUSE_REASON_NO_DB_SERVER, 'no db-proxy instance');
  if (!ctx.route.hasInstance()) return refuse(conn, frame, ResultType.REFUSE_REASON_NO_ROUTE_SERVER, 'no route instance');

  let rsp;
  try {
    // The client's address keys db-proxy's failure counters and rate limits (docs/SECURITY.md "Login lockout").
    rsp = await ctx.db.validate({ userName: req.userName, password: req.password, clientIp: peerIp(conn.transport.remoteAddress) });
  } catch (err) {
    log.warn({ err }, 'validate failed: db-proxy unreachable');
    return refuse(conn, frame, ResultType.REFUSE_REASON_NO_DB_SERVER, 'db-proxy unreachable');
  }
  if (conn.isClosed) {
    log.info('connection closed during validation');
    countLogin('abandoned');
    return;
  }
  const info = rsp.userInfo;
  if (rsp.resultCode !== 0 || !info) {
    log.info({ userName: req.userName, resultCode: rsp.resultCode }, 'login rejected');
    countLogin(refusedLoginResult(rsp.resultCode));
    return refuse(conn, frame, ResultType.REFUSE_REASON_DB_VALIDATE_FAILED, rsp.resultString || 'validation failed');
  }

  ctx.connections.bindUser(conn, info.userId);
  kickSameClass(ctx, conn);

  const ref = sessionRef(ctx, conn);
  let remoteKicks = 0;
  try {
    remoteKicks = (await ctx.route.login(ref)).kicked;
  } catch (err) {
    log.warn({ err }, 'route login failed');
    // It may have been registered before the failure surfaced.
    logoutQuietly(ctx, conn, ref);
    return refuse(conn, frame, ResultType.REFUSE_REASON_NO_ROUTE_SERVER, 'route unreachable');
  }
  if (conn.isClosed || !ctx.connections.markOpen(conn)) {
    log.info('connection closed during route login');
    countLogin('abandoned');
    logoutQuietly(ctx, conn, ref);
    return;
  }

  const res = IM.Login.IMLoginRes.encode({
    serverTime: nowSec(),
    resultCode: ResultType.REFUSE_REASON_NONE,
    onlineStatus: status,
    // docs/PROTOCOL.md §3.1 UserInfo: every required field; the login response always says status 0.
    userInfo: {
      userId: info.userId,
      userGender: info.userGender,
      userNickName: info.userNickName,
      avatarUrl: info.avatarUrl,
      departmentId: info.departmentId,
      email: info.email,
      userRealName: info.userRealName,
      userTel: info.userTel,
      userDomain: info.userDomain,
      status: 0,
      signInfo: info.signInfo,
    },
  }).finish();
  conn.sendPdu(CID.CID_LOGIN_RES_USERLOGIN, frame.seqNum, res);
  ctx.load.changed();
  countLogin('ok');
  log.info({ userId: info.userId, clientType: conn.clientType, remoteKicks }, 'login ok');
  // docs/FLOWS.md §5: what route's presence pushes leave to this gateway, after the response.
  await tellOwnPresence(ctx, conn);
}

/** docs/FLOWS.md §2 step 6.2: displace this user's other connections of the same class (PC vs mobile). */
function kickSameClass(ctx: GatewayContext, conn: Connection): void {
  for (const other of ctx.connections.connectionsOf(conn.userId)) {
    if (other === conn || !sameClientClass(other.clientType, conn.clientType)) continue;
    other.kick(KickReasonType.KICK_REASON_DUPLICATE_USER);
  }
}

/** Refusals for want of a db-proxy or route count as `error`; db-proxy's verdicts are counted before. */
function refuse(conn: Connection, frame: Frame, code: IM.BaseDefine.ResultType, text: string): void {
  if (code !== ResultType.REFUSE_REASON_DB_VALIDATE_FAILED) countLogin('error');
  if (conn.isClosed) return;
  const res = IM.Login.IMLoginRes.encode({ serverTime: nowSec(), resultCode: code, resultString: text }).finish();
  conn.sendPdu(CID.CID_LOGIN_RES_USERLOGIN, frame.seqNum, res);
  conn.close(`login refused (${code})`, 'flush');
}

function logoutQuietly(ctx: GatewayContext, conn: Connection, ref: ReturnType<typeof sessionRef>): void {
  ctx.route.logout(ref).catch((err: unknown) => conn.log.warn({ err }, 'route logout after failed login failed'));
}

/** docs/PROTOCOL.md §3.2: online_status outside 1..3 is coerced to ONLINE. */
function coerceStatus(s: number): IM.BaseDefine.UserStatType {
  if (s === UserStatType.USER_STATUS_OFFLINE) return UserStatType.USER_STATUS_OFFLINE;
  if (s === UserStatType.USER_STATUS_LEAVE) return UserStatType.USER_STATUS_LEAVE;
  return UserStatType.USER_STATUS_ONLINE;
}
