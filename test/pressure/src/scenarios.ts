// --scenarios FILE|default: several runs in sequence against one cluster, one
// report section each. A scenario file has one scenario per line:
//
//   # comment
//   NAME  --pairs 50 --rate 5000 --duration 20
//
// NAME is the report label (and, unless --users-prefix is given, the users'
// prefix: NAME-0001...); the rest are the tool's own options. Options given on
// the command line apply to every scenario and override the scenario's own.
import { readFileSync } from 'node:fs';
import { BUILT_IN_SCENARIOS, DEFAULT_SCENARIOS_TEXT } from './default-scenarios';
import { UsageError, parseOptions, type PressureOptions } from './options';

export { DEFAULT_SCENARIOS_TEXT };

export interface Scenario {
  name: string;
  /** The scenario's own options, as written. */
  args: string[];
  /** 1-based line in its source. */
  line: number;
}

export interface ScenarioRun {
  scenario: Scenario;
  /** Scenario options merged with the command line's. */
  opts: PressureOptions;
}

// 26: NAME- as the users' prefix stays within --users-prefix's 27 characters.
const NAME_RE = /^[A-Za-z0-9_.-]{1,26}$/;

/** Options of the whole command (cluster, report, mode), not of one scenario. */
const COMMAND_ONLY = new Set([
  '--spawn-cluster',
  '--gateways',
  '--login-url',
  '--create-users',
  '--points',
  '--note',
  '--report',
  '--scenarios',
  '--label',
  '--help',
]);

function optionName(token: string): string | undefined {
  if (!token.startsWith('--')) return undefined;
  const eq = token.indexOf('=');
  return eq > 0 ? token.slice(0, eq) : token;
}

/** Splits a line at blanks; '...' and "..." quote (no escapes). Returns undefined on an unterminated quote. */
export function tokenize(line: string): string[] | undefined {
  const tokens: string[] = [];
  let cur: string | undefined;
  let quote: string | undefined;
  for (const ch of line) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      cur ??= '';
    } else if (/\s/.test(ch)) {
      if (cur !== undefined) tokens.push(cur);
      cur = undefined;
    } else {
      cur = (cur ?? '') + ch;
    }
  }
  if (quote !== undefined) return undefined;
  if (cur !== undefined) tokens.push(cur);
  return tokens;
}

/** Parses a scenario list; `source` names it in messages. Throws UsageError with every problem. */
export function parseScenarios(text: string, source: string): Scenario[] {
  const problems: string[] = [];
  const scenarios: Scenario[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const at = `${source}:${line}`;
    const content = raw.replace(/^\s*#.*$/, '').replace(/\s+#.*$/, '').trim();
    if (content === '') return;
    const tokens = tokenize(content);
    if (tokens === undefined) {
      problems.push(`${at}: unterminated quote`);
      return;
    }
    const [name, ...args] = tokens;
    if (!NAME_RE.test(name)) {
      problems.push(`${at}: scenario name: 1..26 characters of [A-Za-z0-9_.-], got ${JSON.stringify(name)}`);
      return;
    }
    if (seen.has(name)) problems.push(`${at}: scenario ${name} appears twice`);
    seen.add(name);
    for (const a of args) {
      const opt = optionName(a);
      if (opt !== undefined && COMMAND_ONLY.has(opt)) problems.push(`${at}: ${name}: ${opt} applies to the whole command, not to one scenario`);
    }
    scenarios.push({ name, args, line });
  });
  if (scenarios.length === 0 && problems.length === 0) problems.push(`${source}: no scenarios`);
  if (problems.length > 0) throw new UsageError(problems);
  return scenarios;
}

/** `default` and `sweep` are built-in lists (default-scenarios.ts), anything else a file name. */
export function loadScenarios(spec: string): { scenarios: Scenario[]; source: string } {
  const builtIn = Object.hasOwn(BUILT_IN_SCENARIOS, spec) ? BUILT_IN_SCENARIOS[spec] : undefined;
  if (builtIn !== undefined) return { scenarios: parseScenarios(builtIn, `${spec} scenarios`), source: spec };
  let text: string;
  try {
    text = readFileSync(spec, 'utf8');
  } catch (err) {
    throw new UsageError([`--scenarios: cannot read ${spec}: ${err instanceof Error ? err.message : String(err)}`]);
  }
  return { scenarios: parseScenarios(text, spec), source: spec };
}

/** argv without every occurrence of --name VALUE / --name=VALUE. */
export function withoutOption(argv: readonly string[], name: string): string[] {
  const flag = `--${name}`;
  const out: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === flag) i += 1;
    else if (!argv[i].startsWith(`${flag}=`)) out.push(argv[i]);
  }
  return out;
}

function hasOption(argv: readonly string[], name: string): boolean {
  return argv.some((a) => optionName(a) === `--${name}`);
}

/**
 * The options of each scenario: its own options, then the command line's
 * (without --scenarios; they win), labelled by the scenario name. Throws
 * UsageError with every problem of every scenario.
 */
export function scenarioRuns(cliArgv: readonly string[], scenarios: readonly Scenario[], source: string): ScenarioRun[] {
  const cli = withoutOption(cliArgv, 'scenarios');
  const problems: string[] = [];
  const runs: ScenarioRun[] = [];
  for (const scenario of scenarios) {
    const users = hasOption(scenario.args, 'users-prefix') || hasOption(cli, 'users-prefix') ? [] : ['--users-prefix', `${scenario.name}-`];
    try {
      const opts = parseOptions([...scenario.args, ...users, ...cli, '--label', scenario.name]);
      if ('help' in opts) throw new UsageError(['--help in a scenario']);
      runs.push({ scenario, opts });
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      problems.push(...err.problems.map((p) => `${source}:${scenario.line}: ${scenario.name}: ${p}`));
    }
  }
  if (problems.length > 0) throw new UsageError(problems);
  return runs;
}
