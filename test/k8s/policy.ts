// What every TierTalk container must have, whatever an overlay changes: health probes,
// requests (scheduling, and the autoscalers' utilisation is relative to them), non-root,
// no privilege escalation, a read-only root filesystem.
import { PROBES, id, workloads } from './references';
import type { K8sObject } from './render';

export function policyProblems(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  for (const w of workloads(objects)) {
    const podNonRoot = w.pod.securityContext?.runAsNonRoot === true;
    const containers = [...(w.pod.initContainers ?? []).map((c) => ({ c, init: true })), ...w.pod.containers.map((c) => ({ c, init: false }))];
    for (const { c, init } of containers) {
      const at = `${id(w.obj)} container ${c.name}`;
      // Init containers cannot have probes; startup probes are optional.
      for (const kind of PROBES) if (!init && kind !== 'startupProbe' && c[kind] === undefined) problems.push(`${at}: no ${kind}`);
      if (c.resources?.requests?.cpu === undefined || c.resources?.requests?.memory === undefined) problems.push(`${at}: no cpu and memory requests`);
      const sc = c.securityContext ?? {};
      if (!(podNonRoot || sc.runAsNonRoot === true)) problems.push(`${at}: not runAsNonRoot`);
      if (sc.allowPrivilegeEscalation !== false) problems.push(`${at}: allowPrivilegeEscalation is not false`);
      if (sc.readOnlyRootFilesystem !== true) problems.push(`${at}: root filesystem is not read-only`);
    }
  }
  return problems;
}
