import * as grpc from '@grpc/grpc-js';
import type { Logger } from '@tiertalk/log';
import type { ValidateReq, ValidateRsp } from '@tiertalk/proto';
import { rpcError } from '@tiertalk/rpc';
import { ValidateHandler } from './handlers/login/validate';
import { isPoolQueueFull } from './store/mysql';
import { refusalLogOf } from './unary';
import { StoreMessagesService } from './handlers/message/store-messages';

/**
 * The DbProxy gRPC implementation: the login and message-store methods plus
 * the unary methods of each domain (handlers/<domain>/rpc.ts), merged here.
 */
export function dbProxyImplementation(deps: {
  validate: ValidateHandler;
  storeMessages: StoreMessagesService;
  domains: ReadonlyArray<grpc.UntypedServiceImplementation>;
  log: Logger;
}): grpc.UntypedServiceImplementation {
  const Validate: grpc.handleUnaryCall<ValidateReq, ValidateRsp> = (call, callback) => {
    deps.validate.validate(call.request, () => call.cancelled).then(
      (rsp) => callback(null, rsp),
      (err: unknown) => {
        if (isPoolQueueFull(err)) refusalLogOf(deps.log).refuse('mysql_pool_queue_full', 'Validate');
        else deps.log.error({ err, userName: call.request.userName }, 'validate failed');
        // The gateway answers its client with TeamTalk's NO_DB_SERVER refusal.
        callback(rpcError(grpc.status.INTERNAL, 'validate failed'));
      },
    );
  };
  const impl: grpc.UntypedServiceImplementation = { Validate, StoreMessages: deps.storeMessages.handle };
  for (const domain of deps.domains) {
    for (const [name, fn] of Object.entries(domain)) {
      if (name in impl) throw new Error(`DbProxy method ${name} implemented twice`);
      impl[name] = fn;
    }
  }
  return impl;
}
