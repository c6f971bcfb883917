import { GatewayService } from '@tiertalk/proto';
import { accessPolicy } from '@tiertalk/rpc';

/** Who may call a gateway's gRPC port (mutual TLS, docs/SECURITY.md): only route pushes to its connections. */
export const gatewayAccess = accessPolicy('Gateway', GatewayService, {
  Push: ['route'],
});
