import { commonConfigSchema, loadConfig, nonEmptyString, port, positiveInt, url } from '@tiertalk/config';

export const routeConfigSchema = commonConfigSchema.extend({
  TT_GRPC_PORT: port(8200),
  TT_SESSION_REDIS_URL: url('redis://127.0.0.1:6379/3'),
  // docs/ARCHITECTURE.md, session registry: keys tt:sm:user:<id>, tt:sm:gw:<id>, tt:sm:gateways
  TT_SESSION_KEY_PREFIX: nonEmptyString('tt:sm:'),
  TT_SWEEP_INTERVAL_MS: positiveInt(10000),
});

export type RouteConfig = ReturnType<typeof loadRouteConfig>;

/** Throws ConfigError listing every bad key; `env` is for tests. */
export function loadRouteConfig(env?: NodeJS.ProcessEnv) {
  return loadConfig(routeConfigSchema, { service: 'route', env });
}
