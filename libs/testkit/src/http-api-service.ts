// The send API (services/http-api) as a real process beside a test Cluster,
// with the http-api certificate (side-service.ts).
import type { Cluster } from './cluster';
import { SideService, startSideService, type SideServiceOptions } from './side-service';

export interface HttpApiServiceOptions extends SideServiceOptions {
  /** The API token (TT_HTTP_API_TOKEN). */
  token: string;
  /** TT_HTTP_API_RATE_PER_SEC; default 1000 (tests of the limit set a small one). */
  ratePerSec?: number;
}

export class HttpApiService extends SideService {
  static start(cluster: Cluster, opts: HttpApiServiceOptions): Promise<HttpApiService> {
    const env = (port: number): Record<string, string> => ({
      TT_ENV: 'development',
      TT_HTTP_API_HOST: '127.0.0.1',
      TT_HTTP_API_PORT: String(port),
      TT_HTTP_API_TOKEN: opts.token,
      TT_HTTP_API_RATE_PER_SEC: String(opts.ratePerSec ?? 1000),
    });
    return startSideService((proc) => new HttpApiService(proc), cluster, { service: 'http-api', env }, opts);
  }
}
