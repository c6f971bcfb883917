import { status } from '@grpc/grpc-js';
import type { SessionRef } from '@tiertalk/proto';
import { rpcError } from '@tiertalk/rpc';

const UINT32_MAX = 0xffffffff;

/** Rejects refs that would corrupt the registry's "<gw>/<conn>" fields. */
export function checkSessionRef(ref: SessionRef): void {
  if (ref.gatewayId === '' || ref.gatewayId.includes('/')) {
    throw rpcError(status.INVALID_ARGUMENT, 'gateway_id must be non-empty without "/"');
  }
  if (!isUint32(ref.userId) || ref.userId === 0) throw rpcError(status.INVALID_ARGUMENT, 'user_id must be > 0');
  if (!isUint32(ref.connId)) throw rpcError(status.INVALID_ARGUMENT, 'conn_id must be a uint32');
}

function isUint32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= UINT32_MAX;
}
