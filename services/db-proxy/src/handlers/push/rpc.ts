import type * as grpc from '@grpc/grpc-js';
import type { IM } from '@tiertalk/proto';
import type { DomainDeps } from '../../domain-deps';
import { DeviceTokenStore } from '../../store/device-tokens';
import { UserDirectory } from '../../store/user-directory';
import { unary } from '../../unary';
import { DeviceTokenHandlers } from './device-token';
import { PushShieldHandlers } from './push-shield';

/** This domain's unary DbProxy methods (docs/FLOWS.md §4 step 4.6, §11, §12). */
export function pushRpc(deps: DomainDeps): grpc.UntypedServiceImplementation {
  const users = new UserDirectory(deps.mysql.replica, deps.mysql.master);
  const tokens = new DeviceTokenHandlers(new DeviceTokenStore(deps.redis.token), users, deps.redis.unread, deps.log);
  const shield = new PushShieldHandlers(users, deps.log);
  return {
    DeviceToken: unary('DeviceToken', deps.log, (req: IM.Login.IMDeviceTokenReq) => tokens.register(req)),
    GetDeviceToken: unary('GetDeviceToken', deps.log, (req: IM.Server.IMGetDeviceTokenReq) => tokens.tokensFor(req)),
    PushShield: unary('PushShield', deps.log, (req: IM.Login.IMPushShieldReq) => shield.set(req)),
    QueryPushShield: unary('QueryPushShield', deps.log, (req: IM.Login.IMQueryPushShieldReq) => shield.query(req)),
  };
}
