// The pressure tool as a library (the CLI is main.ts).
export { progressLine, runPressure, TEAMTALK_MSG_RATE_PER_CONN } from './run';
export { gatewayForClient, pairAcrossGateways } from './pairing';
export type { Endpoints, RunEnv, RunResult } from './run';
export { PressureStats } from './stats';
export type { DeliveryOutcome, IntervalLatency, LatencySummary, MeasuredCounts, Phase, SecondSample, StatsSummary } from './stats';
export { parseOptions, userNames, USAGE, UsageError, MAX_DURATION_SEC } from './options';
export type { GatewayAddr, PressureOptions } from './options';
export { formatSummary, redactArgs, renderSection, upsertSection, verdictOf, REPORT_HEADER } from './report';
export { DEFAULT_SCENARIOS_TEXT, loadScenarios, parseScenarios, scenarioRuns, tokenize, withoutOption } from './scenarios';
export type { Scenario, ScenarioRun } from './scenarios';
export type { ReportInput, Verdict } from './report';
export { encodeBody, parseBody } from './body';
export { ensureUsers, storedPassword } from './users';
