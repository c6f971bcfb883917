// CPU accounting per process: user + system seconds from /proc/<pid>/stat
// (utime + stime), read at the start and the end of a measured period, for each
// service process of a spawned cluster and for the pressure tool itself.
import { readFileSync } from 'node:fs';
import { parseProcStatTicks } from './group-stats';

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 on every Linux build this runs on). */
export const USER_HZ = 100;

/** The load tool's own row in CPU tables. */
export const TOOL_PROCESS = 'pressure tool';

export interface ProcessRef {
  /** Instance name (msg-1, db-proxy-1, ...). */
  name: string;
  service: string;
  pid: number | undefined;
  /** Where it serves /metrics (a spawned cluster's processes). */
  metricsPort?: number;
}

/** Cumulative user + system CPU seconds of a process; undefined when it is gone. */
export function readCpuSeconds(pid: number): number | undefined {
  try {
    const ticks = parseProcStatTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return ticks === undefined ? undefined : ticks / USER_HZ;
  } catch {
    return undefined;
  }
}

export interface CpuReading {
  name: string;
  service: string;
  seconds: number;
}

/** One reading of every process (and of this process, as TOOL_PROCESS). */
export function snapshotCpu(processes: readonly ProcessRef[]): CpuReading[] {
  const all: ProcessRef[] = [...processes, { name: TOOL_PROCESS, service: 'tool', pid: process.pid }];
  return all.flatMap((p) => {
    const seconds = p.pid === undefined ? undefined : readCpuSeconds(p.pid);
    return seconds === undefined ? [] : [{ name: p.name, service: p.service, seconds }];
  });
}

/** CPU seconds each process spent between two snapshots (processes present in both). */
export function cpuBetween(before: readonly CpuReading[], after: readonly CpuReading[]): CpuReading[] {
  const start = new Map(before.map((r) => [r.name, r.seconds]));
  return after.flatMap((r) => {
    const s = start.get(r.name);
    return s === undefined ? [] : [{ name: r.name, service: r.service, seconds: Math.max(0, r.seconds - s) }];
  });
}

/** CPU seconds of the cluster's processes (the tool left out). */
export function clusterCpuSeconds(rows: readonly CpuReading[]): number {
  return rows.filter((r) => r.name !== TOOL_PROCESS).reduce((a, r) => a + r.seconds, 0);
}

/** CPU over a measured period, with the unit the cost is given per (messages, logins). */
export interface CpuUsage {
  rows: CpuReading[];
  /** Wall seconds between the two snapshots. */
  wallSec: number;
  /** What happened in the period (delivered messages, answered logins). */
  units: number;
  unitName: string;
}

/** Markdown table: per process CPU s, % of one core, CPU per unit; then the cluster total. */
export function cpuTable(u: CpuUsage): string[] {
  const per = (sec: number): string => (u.units > 0 ? perUnit((sec * 1000) / u.units) : '–');
  const pct = (sec: number): string => (u.wallSec > 0 ? `${Math.round((sec / u.wallSec) * 100)}%` : '–');
  const total = clusterCpuSeconds(u.rows);
  return [
    `| process | user+sys CPU s over ${u.wallSec.toFixed(1)} s | % of one core | CPU per ${u.unitName} (${u.units} in the period) |`,
    '|---|---:|---:|---:|',
    ...u.rows.map((r) => `| ${r.name} | ${r.seconds.toFixed(2)} | ${pct(r.seconds)} | ${per(r.seconds)} |`),
    `| **cluster total** (tool excluded) | **${total.toFixed(2)}** | **${pct(total)}** | **${per(total)}** |`,
  ];
}

/** A CPU cost in ms, or µs below 1 ms. */
export function perUnit(msPerUnit: number): string {
  return msPerUnit >= 1 ? `${msPerUnit.toFixed(2)} ms` : `${Math.round(msPerUnit * 1000)} µs`;
}

/** One line for the terminal: cluster CPU per unit and the busiest processes. */
export function cpuLine(u: CpuUsage): string {
  const total = clusterCpuSeconds(u.rows);
  const procs = u.rows.map((r) => `${r.name} ${r.seconds.toFixed(1)} s`).join(', ');
  return `CPU over ${u.wallSec.toFixed(1)} s: ${procs}; cluster ${u.units > 0 ? perUnit((total * 1000) / u.units) : '–'} per ${u.unitName}`;
}
