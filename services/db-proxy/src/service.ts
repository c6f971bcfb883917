import type * as grpc from '@grpc/grpc-js';
import type { tiertalk, ValidateBatch, ValidatedBatch } from '@tiertalk/proto';
import type { BatchedCallService } from '@tiertalk/rpc';
import type { StoreMessagesService } from './handlers/message/store-messages';

/**
 * The DbProxy gRPC implementation: the login and message-store streams plus
 * the unary methods of each domain (handlers/<domain>/rpc.ts), merged here.
 */
export function dbProxyImplementation(deps: {
  validateStream: BatchedCallService<ValidateBatch, ValidatedBatch, tiertalk.ValidateItem.$Properties, tiertalk.ValidatedItem.$Properties>;
  storeMessages: StoreMessagesService;
  domains: ReadonlyArray<grpc.UntypedServiceImplementation>;
}): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = { ValidateStream: deps.validateStream.handle, StoreMessages: deps.storeMessages.handle };
  for (const domain of deps.domains) {
    for (const [name, fn] of Object.entries(domain)) {
      if (name in impl) throw new Error(`DbProxy method ${name} implemented twice`);
      impl[name] = fn;
    }
  }
  return impl;
}
