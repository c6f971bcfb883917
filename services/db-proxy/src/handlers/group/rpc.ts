import type * as grpc from '@grpc/grpc-js';
import type { DomainDeps } from '../../domain-deps';

/** This domain's unary DbProxy methods. */
export function groupRpc(deps: DomainDeps): grpc.UntypedServiceImplementation {
  void deps;
  return {};
}
