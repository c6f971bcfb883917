// The end of every run, whatever its mode: the terminal summary, the report
// section (and the plot point) when asked for, the exit code.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readPoints, renderPointsFile, upsertPoint, writePoints, type BenchPoint } from './bench-plot';
import { machineInfo } from './machine';
import type { PressureOptions } from './options';
import { upsertSection, type Verdict } from './report';
import type { SectionMeta } from './report-section';

export const EXIT_OK = 0;
export const EXIT_BAD_MESSAGES = 1;
export const EXIT_SETUP = 2;

/** What one mode hands over once its run is done. */
export interface FinishedRun {
  /** What every mode's result carries. */
  result: { scenario: string; interrupted: string | undefined; toolCpuPercent: number };
  verdict: Verdict;
  /** The terminal summary (ends with a newline). */
  summary: string;
  /** The report section (markers included) from what every section shows. */
  render(meta: SectionMeta): string;
  /** Further edits of the report once the section is in (the group table's row). */
  amendReport?(text: string): string;
  /** The run's plot point (--plot-series), without series/label/date/note. */
  point?: Omit<BenchPoint, 'series' | 'label' | 'date' | 'note'>;
}

export interface RunContext {
  opts: PressureOptions;
  /** The redacted command line. */
  command: string;
  scenarioArgs: string | undefined;
  /** A spawned cluster's description, appended to the scenario line. */
  clusterDescription: string | undefined;
  out(line: string): void;
}

/** Summary to the terminal; section into --report and point into --points when given; the exit code. */
export async function reportRun(ctx: RunContext, run: FinishedRun): Promise<number> {
  const { opts, out } = ctx;
  const date = new Date();
  out(`\n${opts.label}\n`);
  out(run.summary);
  out(`pressure tool CPU: ${Math.round(run.result.toolCpuPercent)}% of one core\n`);
  if (opts.report !== undefined) {
    const section = run.render({
      label: opts.label,
      command: ctx.command,
      scenarioArgs: ctx.scenarioArgs,
      date,
      machine: machineInfo(),
      scenario: ctx.clusterDescription ? `${run.result.scenario}; ${ctx.clusterDescription}` : run.result.scenario,
      interrupted: run.result.interrupted,
      toolCpuPercent: run.result.toolCpuPercent,
      note: opts.note,
    });
    const existing = existsSync(opts.report) ? readFileSync(opts.report, 'utf8') : undefined;
    const withSection = upsertSection(existing, opts.label, section);
    writeFileSync(opts.report, run.amendReport ? run.amendReport(withSection) : withSection);
    out(`report: section "${opts.label}" written to ${opts.report}\n`);
  }
  if (opts.points !== undefined && opts.plotSeries !== undefined && run.point && run.result.interrupted === undefined) {
    const point: BenchPoint = { ...run.point, series: opts.plotSeries, label: opts.label, date: date.toISOString(), ...(opts.note ? { note: opts.note } : {}) };
    writePoints(opts.points, upsertPoint(readPoints(opts.points), point));
    out(`plot: point ${opts.plotSeries} @ ${point.offered} written to ${opts.points}, ${await renderPointsFile(opts.points)} re-rendered\n`);
  }
  return run.verdict.ok ? EXIT_OK : EXIT_BAD_MESSAGES;
}
