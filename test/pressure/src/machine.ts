import os from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cpuCount: number;
  totalMemBytes: number;
  node: string;
  kernel: string;
  arch: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown CPU',
    cpuCount: cpus.length,
    totalMemBytes: os.totalmem(),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    arch: os.arch(),
  };
}

export function describeMachine(m: MachineInfo): string {
  const gib = (m.totalMemBytes / 1024 ** 3).toFixed(1);
  return `${m.cpuCount} × ${m.cpuModel}, ${gib} GiB RAM, ${m.kernel} (${m.arch}), Node ${m.node}`;
}
