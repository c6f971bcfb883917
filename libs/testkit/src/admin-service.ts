// The admin HTTP API (services/admin) as a real process beside a test Cluster,
// with the operator's certificate (side-service.ts).
import type { Cluster } from './cluster';
import { SideService, startSideService, type SideServiceOptions } from './side-service';

export interface AdminServiceOptions extends SideServiceOptions {
  /** The bearer token (TT_ADMIN_TOKEN). */
  token: string;
}

export class AdminService extends SideService {
  static start(cluster: Cluster, opts: AdminServiceOptions): Promise<AdminService> {
    const env = (port: number): Record<string, string> => ({
      TT_ADMIN_HTTP_HOST: '127.0.0.1',
      TT_ADMIN_HTTP_PORT: String(port),
      TT_ADMIN_TOKEN: opts.token,
    });
    return startSideService((proc) => new AdminService(proc), cluster, { service: 'admin', env }, opts);
  }
}
