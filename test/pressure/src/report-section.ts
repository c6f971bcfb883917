// The head every scenario section of the report shares (markers, result,
// scenario, command, machine, date), so each mode's report only renders its own figures.
import { describeMachine, type MachineInfo } from './machine';
import { beginMarker, type Verdict } from './report';

/** What every run knows about itself, whatever its mode. */
export interface SectionMeta {
  label: string;
  /** The command line, already redacted (see redactArgs). */
  command: string;
  /** In --scenarios mode: this scenario's own options, shown after the command. */
  scenarioArgs?: string;
  date: Date;
  machine: MachineInfo;
  /** One line describing the load. */
  scenario: string;
  /** Set when the run was cut short (Ctrl-C). */
  interrupted?: string;
  /** CPU of the pressure process itself, % of one core. */
  toolCpuPercent?: number;
  /** --note: how to take the figures (e.g. measured on a loaded machine). */
  note?: string;
}

/**
 * The first lines of a section: begin marker, title, then Result (with `passText`
 * when the run passed), Scenario, Command, Machine (+ `machineNote`), Date, Interrupted.
 */
export function sectionHead(r: SectionMeta, verdict: Verdict, passText: string, machineNote = ''): string[] {
  const lines = [
    beginMarker(r.label),
    `## ${r.label}`,
    '',
    `- Result: ${verdict.ok ? `**PASS** (${passText})` : `**FAIL** (${verdict.reasons.join(', ')})`}`,
    `- Scenario: ${r.scenario}`,
    `- Command: \`${r.command}\`${r.scenarioArgs === undefined ? '' : ` (scenario \`${r.label}\`: \`${r.scenarioArgs}\`)`}`,
    `- Machine: ${describeMachine(r.machine)}${r.toolCpuPercent === undefined ? '' : `; the pressure tool used ${Math.round(r.toolCpuPercent)}% of one core`}${machineNote}`,
    `- Date: ${r.date.toISOString()}`,
  ];
  if (r.note) lines.push(`- Note: ${r.note}`);
  if (r.interrupted) lines.push(`- Interrupted: ${r.interrupted}`);
  return lines;
}
