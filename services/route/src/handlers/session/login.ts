import { CID, IM, sameClientClass, tiertalk, type SessionLoginBatch, type SessionLoginResults } from '@tiertalk/proto';
import { BatchedCallService } from '@tiertalk/rpc';
import { toServiceError } from '../call-errors';
import type { RouteDeps } from '../types';
import { presenceOnLogin } from './presence';
import { checkSessionRef } from './session-ref';

const KICK_REASON_DUPLICATE_USER = IM.BaseDefine.KickReasonType.KICK_REASON_DUPLICATE_USER;

/** Session registrations one gateway stream may have running before its reading pauses. */
const MAX_IN_FLIGHT_PER_STREAM = 4000;

/**
 * Route.LoginStream, flows.md §2 step 6.3: a new login displaces every other
 * session of the same client class (PC vs mobile), on any gateway. The same
 * gateway also kicks locally; a duplicate kick there is harmless. Then
 * presence (flows.md §5, ./presence.ts): the gateway registers a session
 * exactly when TeamTalk's msg server sends IMUserStatusUpdate ONLINE.
 * Registrations come in batches on one long-lived stream per gateway, each
 * answered by its ref: `rsp` with the kicks sent, or `error` when it was not
 * registered (the gateway refuses that login).
 */
export function loginStreamService(deps: RouteDeps): LoginStreamService {
  const log = deps.logger.child({ rpc: 'LoginStream' });
  return new BatchedCallService<SessionLoginBatch, SessionLoginResults, tiertalk.SessionLoginItem.$Properties, tiertalk.SessionLoginResult.$Properties>(
    {
      itemsOf: (batch) => batch.items,
      run: async (item) => {
        const kicked = await login(deps, item.session);
        log.debug({ userId: item.session.userId, gatewayId: item.session.gatewayId, connId: item.session.connId, kicked }, 'session registered');
        return { ref: item.ref, rsp: { kicked } };
      },
      failed: (item, err) => {
        const ref = item.session;
        log.warn({ err, userId: ref.userId, gatewayId: ref.gatewayId, connId: ref.connId }, 'login failed');
        return { ref: item.ref, error: toServiceError(err).message };
      },
      batchOf: (items, stop) => tiertalk.SessionLoginResults.create({ items, ...(stop ? { stop: { result: 0 } } : {}) }),
    },
    { maxInFlight: MAX_IN_FLIGHT_PER_STREAM, logger: log },
  );
}

export type LoginStreamService = BatchedCallService<SessionLoginBatch, SessionLoginResults, tiertalk.SessionLoginItem.$Properties, tiertalk.SessionLoginResult.$Properties>;

/** Registers the session and returns how many kicks were sent. */
async function login({ store, links, registryReady }: RouteDeps, ref: tiertalk.SessionRef.$Properties): Promise<number> {
  checkSessionRef(ref);
  // While the registry is rebuilt, the user's other sessions may not be back yet: wait, so they are kicked.
  await registryReady?.whenRegistryReady();
  // One script reads the earlier sessions and adds this one, so of two
  // concurrent logins the later always sees (and kicks) the earlier.
  const earlier = await store.login(ref);
  const byGateway = new Map<string, tiertalk.Push.$Properties[]>();
  for (const s of earlier) {
    if (!sameClientClass(s.clientType, ref.clientType)) continue;
    const body = IM.Server.IMServerKickUser.encode({
      userId: ref.userId,
      clientType: ref.clientType,
      reason: KICK_REASON_DUPLICATE_USER,
    }).finish();
    const push: tiertalk.Push.$Properties = { commandId: CID.CID_OTHER_SERVER_KICK_USER, body, connIds: [s.connId] };
    const list = byGateway.get(s.gatewayId);
    if (list) list.push(push);
    else byGateway.set(s.gatewayId, [push]);
  }
  let kicked = 0;
  // A gateway that is not live holds ghosts only; the sweep removes them.
  for (const [gatewayId, pushes] of byGateway) if (links.send(gatewayId, pushes)) kicked += pushes.length;
  presenceOnLogin(links, ref, earlier);
  return kicked;
}
