// The pressure tool as a library (the CLI is main.ts).
export { runPressure, TEAMTALK_MSG_RATE_PER_CONN } from './run';
export { gatewayForClient, pairAcrossGateways } from './pairing';
export type { Endpoints, RunEnv, RunResult } from './run';
export { PressureStats } from './stats';
export type { DeliveryOutcome, LatencySummary, SecondSample, StatsSummary } from './stats';
export { parseOptions, userNames, USAGE, UsageError, MAX_DURATION_SEC } from './options';
export type { GatewayAddr, PressureOptions } from './options';
export { formatSummary, redactArgs, renderSection, upsertSection, verdictOf } from './report';
export type { ReportInput, Verdict } from './report';
export { encodeBody, parseBody } from './body';
export { ensureUsers, storedPassword } from './users';
