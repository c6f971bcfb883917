import { isLeaving, type InstanceInfo, type ServiceWatch } from '@tiertalk/registry';
import type { IM } from '@tiertalk/proto';
import type { FileServerLink, FileTask } from './file-server-link';

/**
 * Where clients reach the live file servers: the `ip` and `port` each file
 * server instance publishes in its etcd meta (services/file). TeamTalk's
 * msg_server hands these out in IMFileRsp, IMFileNotify and IMFileHasOfflineRsp.
 */
export class FileServerDirectory {
  constructor(
    private readonly watch: Pick<ServiceWatch, 'list'>,
    private readonly link: FileServerLink,
  ) {}

  transfer(req: IM.Server.IMFileTransferReq.$Properties): Promise<FileTask | undefined> {
    return this.link.transfer(req);
  }

  /** Client-facing addresses of the live file servers, in etcd order; empty when none runs. */
  addresses(): IM.BaseDefine.IpAddr.$Properties[] {
    return clientAddresses(this.watch.list());
  }
}

export function clientAddresses(instances: Iterable<InstanceInfo>): IM.BaseDefine.IpAddr.$Properties[] {
  const out: IM.BaseDefine.IpAddr.$Properties[] = [];
  for (const info of instances) {
    const { ip, port } = info.meta;
    if (isLeaving(info) || typeof ip !== 'string' || ip === '' || typeof port !== 'number' || port <= 0 || port > 65535) continue;
    out.push({ ip, port });
  }
  return out;
}
