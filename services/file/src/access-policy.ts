import { FileServerService } from '@tiertalk/proto';
import { accessPolicy } from '@tiertalk/rpc';

/** Only gateways ask the file server for tasks (mutual TLS, docs/SECURITY.md). */
export const fileServerAccess = accessPolicy('FileServer', FileServerService, {
  Transfer: ['msg'],
  ServerIp: ['msg'],
});
