import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { TOOL_PROCESS, USER_HZ, cpuBetween, cpuLine, cpuTable, readCpuSeconds, snapshotCpu } from './proc-cpu';

/** A child that burns CPU until told to stop on stdin, and says when it has burnt `ms` of it. */
function burner(ms: number): ChildProcess {
  const code = `
    const t0 = process.cpuUsage(); let said = false;
    const spin = () => { const until = Date.now() + 20; while (Date.now() < until); 
      const u = process.cpuUsage(t0); if (!said && (u.user + u.system) / 1000 >= ${ms}) { said = true; process.stdout.write('burnt\\n'); }
      setImmediate(spin); };
    process.stdin.on('data', () => process.exit(0)); spin();`;
  return spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
}

async function line(child: ChildProcess): Promise<void> {
  await once(child.stdout!, 'data');
}

describe('proc-cpu', () => {
  let child: ChildProcess | undefined;
  afterEach(async () => {
    if (child && child.exitCode === null) {
      child.stdin!.write('stop\n');
      await once(child, 'exit');
    }
    child = undefined;
  });

  it('reads the user + system seconds of a real child process from /proc/<pid>/stat', async () => {
    child = burner(300);
    const before = snapshotCpu([{ name: 'burner-1', service: 'burner', pid: child.pid }]);
    await line(child);
    const after = snapshotCpu([{ name: 'burner-1', service: 'burner', pid: child.pid }]);
    const spent = cpuBetween(before, after);
    const burnt = spent.find((r) => r.name === 'burner-1');
    // It said it had burnt 300 ms of CPU; /proc counts in ticks of 1/USER_HZ s.
    expect(burnt?.seconds).toBeGreaterThanOrEqual(0.3 - 2 / USER_HZ);
    expect(burnt?.service).toBe('burner');
    // The tool's own row is there too.
    expect(spent.map((r) => r.name)).toContain(TOOL_PROCESS);
  });

  it('leaves out a process that is gone or has no pid', async () => {
    child = burner(0);
    await line(child);
    const pid = child.pid!;
    child.stdin!.write('stop\n');
    await once(child, 'exit');
    expect(readCpuSeconds(pid)).toBeUndefined();
    expect(snapshotCpu([{ name: 'gone', service: 'x', pid }, { name: 'none', service: 'x', pid: undefined }]).map((r) => r.name)).toEqual([TOOL_PROCESS]);
  });

  it('gives CPU per unit per process and for the cluster without the tool', () => {
    const usage = {
      rows: [
        { name: 'msg-1', service: 'msg', seconds: 2 },
        { name: 'db-proxy-1', service: 'db-proxy', seconds: 1 },
        { name: TOOL_PROCESS, service: 'tool', seconds: 5 },
      ],
      wallSec: 10,
      units: 10_000,
      unitName: 'delivered message',
    };
    const table = cpuTable(usage);
    expect(table[0]).toBe('| process | user+sys CPU s over 10.0 s | % of one core | CPU per delivered message (10000 in the period) |');
    expect(table).toContain('| msg-1 | 2.00 | 20% | 200 µs |');
    expect(table).toContain(`| ${TOOL_PROCESS} | 5.00 | 50% | 500 µs |`);
    expect(table[table.length - 1]).toBe('| **cluster total** (tool excluded) | **3.00** | **30%** | **300 µs** |');
    expect(cpuLine(usage)).toMatch(/cluster 300 µs per delivered message$/);
  });
});
