import type { SessionRef, SessionSync } from '@tiertalk/proto';
import { CatalogueError } from '@tiertalk/rpc';

const UINT32_MAX = 0xffffffff;

/** Rejects refs that would corrupt the registry's "<gw>/<conn>" fields. */
export function checkSessionRef(ref: Pick<SessionRef, 'gatewayId' | 'userId' | 'connId'>): void {
  checkGatewayId(ref.gatewayId);
  if (!isUint32(ref.userId) || ref.userId === 0) throw new CatalogueError('request_invalid', 'user_id must be > 0');
  if (!isUint32(ref.connId)) throw new CatalogueError('request_invalid', 'conn_id must be a uint32');
}

function isUint32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= UINT32_MAX;
}

/** A sync names one gateway, and every session in it belongs to that gateway. */
export function checkSessionSync(req: SessionSync): void {
  checkGatewayId(req.gatewayId);
  for (const s of req.sessions ?? []) {
    if (s.gatewayId !== req.gatewayId) throw new CatalogueError('request_invalid', 'every session must name the syncing gateway');
    checkSessionRef(s);
  }
}

function checkGatewayId(gatewayId: string): void {
  if (gatewayId === '' || gatewayId.includes('/')) {
    throw new CatalogueError('request_invalid', 'gateway_id must be non-empty without "/"');
  }
}
