import * as grpc from '@grpc/grpc-js';
import type { Logger } from '@tiertalk/log';
import type { ValidateReq, ValidateRsp } from '@tiertalk/proto';
import { rpcError } from '@tiertalk/rpc';
import { ValidateHandler } from './handlers/login/validate';
import { StoreMessagesService } from './handlers/message/store-messages';

/** The DbProxy gRPC implementation: maps each method to its domain handler. */
export function dbProxyImplementation(deps: {
  validate: ValidateHandler;
  storeMessages: StoreMessagesService;
  log: Logger;
}): grpc.UntypedServiceImplementation {
  const Validate: grpc.handleUnaryCall<ValidateReq, ValidateRsp> = (call, callback) => {
    deps.validate.validate(call.request).then(
      (rsp) => callback(null, rsp),
      (err: unknown) => {
        deps.log.error({ err, userName: call.request.userName }, 'validate failed');
        // The gateway answers its client with TeamTalk's NO_DB_SERVER refusal.
        callback(rpcError(grpc.status.INTERNAL, 'validate failed'));
      },
    );
  };
  return { Validate, StoreMessages: deps.storeMessages.handle };
}
