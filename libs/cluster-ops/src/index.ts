export { BearerToken } from './bearer-token';
export { ClusterLink } from './cluster-link';
export type { ClusterLinkConfig, OpsLink } from './cluster-link';
export { OPS_ERRORS, OpsError, toOpsError } from './errors';
export type { OpsErrorCode } from './errors';
export { runGroupCommand } from './group-ops';
export type { GroupCommand, GroupInvocation } from './group-ops';
export { readJson, sendJson } from './http-json';
export type { OpsOutput } from './output';
