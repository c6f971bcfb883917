// Summarises V8 .cpuprofile files (node --cpu-prof) by where the CPU went:
// busy time per process and self time per package / project folder / native
// bucket. Used by `make profile`; the numbers go into docs/BENCHMARKS.md.
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  busyMs: number;
  wallMs: number;
  buckets: Array<{ name: string; ms: number }>;
}

/** Where a sample's self time is charged: npm package, project folder, node internals or native code. */
export function bucketOf(frame: CallFrame): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url);
  if (pkg) return pkg[1];
  const project = /\/(libs|services|test)\/([^/]+)\//.exec(frame.url);
  if (project) return `${project[1]}/${project[2]}`;
  if (frame.url.startsWith('node:')) return frame.url.split('/').slice(0, 2).join('/');
  return frame.functionName || '(native)';
}

export function summarise(file: string, profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const buckets = new Map<string, number>();
  let busy = 0;
  let wall = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    wall += dt;
    const frame = byId.get(id)?.callFrame;
    if (!frame || frame.functionName === '(idle)') return;
    busy += dt;
    const b = bucketOf(frame);
    buckets.set(b, (buckets.get(b) ?? 0) + dt);
  });
  return {
    file,
    busyMs: busy / 1000,
    wallMs: wall / 1000,
    buckets: [...buckets].map(([name, us]) => ({ name, ms: us / 1000 })).sort((a, b) => b.ms - a.ms),
  };
}

export function formatSummary(s: ProfileSummary, top = 10): string {
  const lines = [`${path.basename(s.file)}: busy ${(s.busyMs / 1000).toFixed(1)} s of ${(s.wallMs / 1000).toFixed(1)} s`];
  for (const b of s.buckets.slice(0, top)) {
    lines.push(`  ${b.ms.toFixed(0).padStart(7)} ms ${((100 * b.ms) / s.busyMs).toFixed(0).padStart(3)}%  ${b.name}`);
  }
  return lines.join('\n');
}

if (require.main === module) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    process.stderr.write('usage: node profile-summary.js FILE.cpuprofile...\n');
    process.exit(2);
  }
  for (const f of files) {
    const profile = JSON.parse(readFileSync(f, 'utf8')) as CpuProfile;
    process.stdout.write(`${formatSummary(summarise(f, profile))}\n`);
  }
}
