import { CID, IM, sameClientClass, tiertalk } from '@tiertalk/proto';
import type { RouteDeps } from '../types';
import { presenceOnLogin } from './presence';
import { checkSessionRef } from './session-ref';
import { sessionStreamService, type SessionStreamService } from './session-stream';

const KICK_REASON_DUPLICATE_USER = IM.BaseDefine.KickReasonType.KICK_REASON_DUPLICATE_USER;

/**
 * Route.LoginStream, docs/FLOWS.md §2 step 6.3: a new login displaces every other
 * session of the same client class (PC vs mobile), on any gateway. The same
 * gateway also kicks locally; a duplicate kick there is harmless. Then
 * presence (docs/FLOWS.md §5, ./presence.ts): the gateway registers a session
 * exactly when TeamTalk's msg server sends IMUserStatusUpdate ONLINE.
 * Each registration is answered with the kicks sent, or an error when it was
 * not registered (the gateway refuses that login).
 */
export function loginStreamService(deps: RouteDeps): SessionStreamService {
  return sessionStreamService('LoginStream', deps.logger, async (ref) => ({ kicked: await login(deps, ref) }));
}

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
