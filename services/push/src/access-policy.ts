import { PushService } from '@tiertalk/proto';
import { accessPolicy } from '@tiertalk/rpc';

/** Who may call the push service (mutual TLS, docs/SECURITY.md): only route, which knows who is offline. */
export const pushAccess = accessPolicy('PushNotify', PushService, {
  Notify: ['route'],
});
