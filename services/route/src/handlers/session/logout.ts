import type { tiertalk } from '@tiertalk/proto';
import type { RouteDeps } from '../types';
import { presenceOnLogout } from './presence';
import { checkSessionRef } from './session-ref';
import { sessionStreamService, type SessionStreamService } from './session-stream';

/**
 * Route.LogoutStream: removes exactly these sessions; unknown sessions are
 * fine (idempotent). The gateway logs a session out when TeamTalk's msg
 * server sends IMUserStatusUpdate OFFLINE (docs/FLOWS.md §12 close processing), so
 * presence follows (§5).
 */
export function logoutStreamService(deps: RouteDeps): SessionStreamService {
  return sessionStreamService('LogoutStream', deps.logger, async (ref) => {
    await logout(deps, ref);
    return {};
  });
}

async function logout({ store, links }: RouteDeps, ref: tiertalk.SessionRef.$Properties): Promise<void> {
  checkSessionRef(ref);
  // The stored client type, not the caller's, decides: it is what the registry counted.
  const { removed, remaining } = await store.leave(ref);
  presenceOnLogout(links, ref.userId, removed, remaining);
}
