import type * as grpc from '@grpc/grpc-js';
import { CID, IM, sameClientClass, tiertalk, type SessionLoginRsp } from '@tiertalk/proto';
import { CatalogueError } from '@tiertalk/rpc';
import { routeUnary } from '../call-errors';
import type { RouteDeps } from '../types';

const { KICK_REASON_DUPLICATE_USER, KICK_REASON_MOBILE_KICK } = IM.BaseDefine.KickReasonType;

/**
 * Route.KickUser (docs/FLOWS.md §11, a mobile kicking the PC client): every session
 * of `user_id` in the client class of `client_type`, on every gateway, gets a
 * CID_OTHER_SERVER_KICK_USER push naming its connection; the gateway sends
 * IMKickUser{reason} and closes it. TeamTalk's msg servers kick one same-class
 * connection each; with at most one PC per user (§2) that is the same thing.
 */
export function kickUserHandler({ store, links, logger }: RouteDeps): grpc.handleUnaryCall<IM.Server.IMServerKickUser, SessionLoginRsp> {
  const log = logger.child({ rpc: 'KickUser' });
  const context = (req: IM.Server.IMServerKickUser) => ({ userId: req.userId, clientType: req.clientType, reason: req.reason });
  return routeUnary(log, 'KickUser', 'kick failed', context, async (req) => {
    if (!Number.isInteger(req.userId) || req.userId <= 0) throw new CatalogueError('request_invalid', 'user_id must be > 0');
    if (req.reason !== KICK_REASON_DUPLICATE_USER && req.reason !== KICK_REASON_MOBILE_KICK) {
      throw new CatalogueError('request_invalid', 'reason must be a KickReasonType');
    }
    const sessions = (await store.lookup([req.userId])).get(req.userId) ?? [];
    const body = IM.Server.IMServerKickUser.encode({ userId: req.userId, clientType: req.clientType, reason: req.reason }).finish();
    const connsByGateway = new Map<string, number[]>();
    for (const s of sessions) {
      if (!sameClientClass(s.clientType, req.clientType)) continue;
      const list = connsByGateway.get(s.gatewayId);
      if (list) list.push(s.connId);
      else connsByGateway.set(s.gatewayId, [s.connId]);
    }
    let kicked = 0;
    for (const [gatewayId, connIds] of connsByGateway) {
      if (links.send(gatewayId, [{ commandId: CID.CID_OTHER_SERVER_KICK_USER, body, connIds }])) kicked += connIds.length;
    }
    log.info({ ...context(req), kicked }, 'user kicked');
    return tiertalk.SessionLoginRsp.create({ kicked });
  });
}
