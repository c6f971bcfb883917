// Cross-references between rendered objects that schemas cannot see and that a user trips
// over only when pods fail to start or never get traffic: probe ports, Service and budget
// selectors, autoscaler targets, ConfigMap/Secret names and keys (also through files read
// from mounted Secrets, e.g. TT_AES_KEY_FILE), and the port settings the services advertise.
import type { K8sObject } from './render';

// Loose views of the fields read here; the schema check has already typed them.
interface Container {
  name: string;
  ports?: { name?: string; containerPort: number; hostPort?: number }[];
  env?: { name: string; value?: string; valueFrom?: { configMapKeyRef?: KeyRef; secretKeyRef?: KeyRef } }[];
  envFrom?: { configMapRef?: NameRef; secretRef?: NameRef }[];
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, unknown> };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; runAsNonRoot?: boolean };
}
interface NameRef { name: string; optional?: boolean }
interface KeyRef extends NameRef { key: string }
interface Probe { httpGet?: { port: number | string }; tcpSocket?: { port: number | string }; grpc?: { port: number } }
interface Volume { name: string; secret?: { secretName: string; items?: { key: string; path: string }[]; optional?: boolean }; configMap?: { name: string; items?: { key: string; path: string }[]; optional?: boolean } }
interface PodSpec { containers: Container[]; initContainers?: Container[]; volumes?: Volume[]; securityContext?: { runAsNonRoot?: boolean } }
interface Selector { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] }

/** A Deployment, StatefulSet, DaemonSet or Job and its pod template. */
interface Workload { obj: K8sObject; labels: Record<string, string>; pod: PodSpec }

export interface ReferenceOptions {
  /** Secrets the operator creates outside the rendered output (the base has none of its own). */
  externalSecrets?: ReadonlySet<string>;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);
const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;

function field<T>(obj: unknown, ...keys: string[]): T | undefined {
  let cur: unknown = obj;
  for (const k of keys) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur as T | undefined;
}

const id = (o: K8sObject): string => `${o.kind}/${o.metadata.name}`;

export function workloads(objects: readonly K8sObject[]): Workload[] {
  return objects
    .filter((o) => WORKLOAD_KINDS.has(o.kind))
    .map((obj) => ({
      obj,
      labels: field<Record<string, string>>(obj, 'spec', 'template', 'metadata', 'labels') ?? {},
      pod: field<PodSpec>(obj, 'spec', 'template', 'spec') ?? { containers: [] },
    }));
}

export function selects(selector: Selector | undefined, labels: Record<string, string>): boolean {
  if (selector === undefined) return false;
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    switch (e.operator) {
      case 'In': return has && (e.values ?? []).includes(labels[e.key]);
      case 'NotIn': return !has || !(e.values ?? []).includes(labels[e.key]);
      case 'Exists': return has;
      case 'DoesNotExist': return !has;
      default: return false;
    }
  });
  const empty = Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
  return !empty && byLabels && byExpressions;
}

/** Every problem found, one line each (empty when the objects hang together). */
export function referenceProblems(objects: readonly K8sObject[], opts: ReferenceOptions = {}): string[] {
  const problems: string[] = [];
  const byKind = (kind: string) => new Map(objects.filter((o) => o.kind === kind).map((o) => [o.metadata.name, o]));
  const configMaps = byKind('ConfigMap');
  const secrets = byKind('Secret');
  const external = opts.externalSecrets ?? new Set<string>();
  const all = workloads(objects);

  const keysOf = (kind: 'ConfigMap' | 'Secret', name: string): Set<string> | undefined => {
    const o = (kind === 'ConfigMap' ? configMaps : secrets).get(name);
    if (o === undefined) return undefined;
    return new Set([...Object.keys(field<object>(o, 'data') ?? {}), ...Object.keys(field<object>(o, 'stringData') ?? {}), ...Object.keys(field<object>(o, 'binaryData') ?? {})]);
  };
  /** Keys of the object, undefined when it is legitimately not rendered; reports a missing one. */
  const resolve = (where: string, kind: 'ConfigMap' | 'Secret', ref: NameRef): Set<string> | undefined => {
    const keys = keysOf(kind, ref.name);
    if (keys === undefined && !ref.optional && !(kind === 'Secret' && external.has(ref.name))) problems.push(`${where}: ${kind} ${ref.name} does not exist`);
    return keys;
  };

  for (const w of all) {
    const where = id(w.obj);
    const volumes = new Map((w.pod.volumes ?? []).map((v) => [v.name, v]));
    const podNonRoot = w.pod.securityContext?.runAsNonRoot === true;
    const containers = [...(w.pod.initContainers ?? []).map((c) => ({ c, init: true })), ...w.pod.containers.map((c) => ({ c, init: false }))];
    for (const { c, init } of containers) {
      const at = `${where} container ${c.name}`;
      const ports = c.ports ?? [];
      const portNames = new Set(ports.map((p) => p.name).filter((n): n is string => n !== undefined));
      const portNumbers = new Set(ports.map((p) => p.containerPort));

      // Probes must hit a port the container declares (a renamed port silently breaks them).
      for (const kind of PROBES) {
        const probe = c[kind];
        if (probe === undefined) {
          if (!init && kind !== 'startupProbe') problems.push(`${at}: no ${kind}`);
          continue;
        }
        const port = probe.httpGet?.port ?? probe.tcpSocket?.port ?? probe.grpc?.port;
        if (typeof port === 'string' && !portNames.has(port)) problems.push(`${at}: ${kind} port "${port}" is not a named containerPort`);
        if (typeof port === 'number' && !portNumbers.has(port)) problems.push(`${at}: ${kind} port ${port} is not a declared containerPort`);
      }
      for (const p of ports) {
        // Gateways advertise their own port number to clients: it must be the same outside.
        if (p.hostPort !== undefined && p.hostPort !== p.containerPort) problems.push(`${at}: hostPort ${p.hostPort} differs from containerPort ${p.containerPort}`);
      }

      // Policy: scheduling needs requests (and the autoscalers' utilisation is relative to them).
      if (c.resources?.requests?.cpu === undefined || c.resources?.requests?.memory === undefined) problems.push(`${at}: no cpu and memory requests`);
      const sc = c.securityContext ?? {};
      if (!(podNonRoot || sc.runAsNonRoot === true)) problems.push(`${at}: not runAsNonRoot`);
      if (sc.allowPrivilegeEscalation !== false) problems.push(`${at}: allowPrivilegeEscalation is not false`);
      if (sc.readOnlyRootFilesystem !== true) problems.push(`${at}: root filesystem is not read-only`);

      for (const from of c.envFrom ?? []) {
        if (from.configMapRef) resolve(at, 'ConfigMap', from.configMapRef);
        if (from.secretRef) resolve(at, 'Secret', from.secretRef);
      }
      for (const e of c.env ?? []) {
        for (const [kind, ref] of [['ConfigMap', e.valueFrom?.configMapKeyRef], ['Secret', e.valueFrom?.secretKeyRef]] as const) {
          if (ref === undefined) continue;
          const keys = resolve(`${at} env ${e.name}`, kind, ref);
          if (keys !== undefined && !keys.has(ref.key) && !ref.optional) problems.push(`${at} env ${e.name}: ${kind} ${ref.name} has no key ${ref.key}`);
        }
        // A TierTalk port setting names a port the container declares (else probes, Services and
        // what the service advertises disagree).
        if (/^TT_[A-Z_]*PORT$/.test(e.name) && e.value !== undefined && !portNumbers.has(Number(e.value))) {
          problems.push(`${at} env ${e.name}=${e.value}: not a declared containerPort`);
        }
      }

      // Files the service reads (TT_*_FILE, TT_TLS_CERT, ...) from a mounted ConfigMap/Secret exist in it.
      for (const e of c.env ?? []) {
        if (e.value === undefined || !e.value.startsWith('/')) continue;
        for (const m of c.volumeMounts ?? []) {
          const dir = m.mountPath.replace(/\/+$/, '') + '/';
          if (m.subPath !== undefined || !e.value.startsWith(dir)) continue;
          const v = volumes.get(m.name);
          const source = v?.secret ? { kind: 'Secret' as const, name: v.secret.secretName, items: v.secret.items } : v?.configMap ? { kind: 'ConfigMap' as const, name: v.configMap.name, items: v.configMap.items } : undefined;
          if (source === undefined) continue;
          const keys = keysOf(source.kind, source.name);
          if (keys === undefined) continue; // reported with the volume below, or external
          const file = e.value.slice(dir.length);
          const files = source.items ? new Set(source.items.map((i) => i.path)) : keys;
          if (!files.has(file)) problems.push(`${at} env ${e.name}=${e.value}: ${source.kind} ${source.name} mounted at ${m.mountPath} has no ${file}`);
        }
      }
      for (const m of c.volumeMounts ?? []) {
        if (!volumes.has(m.name)) problems.push(`${at}: volumeMount ${m.name} names no volume`);
      }
    }
    for (const v of volumes.values()) {
      const src = v.secret ? { kind: 'Secret' as const, ref: { name: v.secret.secretName, optional: v.secret.optional }, items: v.secret.items } : v.configMap ? { kind: 'ConfigMap' as const, ref: { name: v.configMap.name, optional: v.configMap.optional }, items: v.configMap.items } : undefined;
      if (src === undefined) continue;
      const keys = resolve(`${where} volume ${v.name}`, src.kind, src.ref);
      for (const item of src.items ?? []) {
        if (keys !== undefined && !keys.has(item.key)) problems.push(`${where} volume ${v.name}: ${src.kind} ${src.ref.name} has no key ${item.key}`);
      }
    }
  }

  for (const svc of objects.filter((o) => o.kind === 'Service')) {
    const selector = field<Record<string, string>>(svc, 'spec', 'selector');
    if (selector === undefined) continue; // an external endpoint the operator supplies
    const targets = all.filter((w) => selects({ matchLabels: selector }, w.labels));
    if (targets.length === 0) {
      problems.push(`${id(svc)}: selector ${JSON.stringify(selector)} matches no pod template`);
      continue;
    }
    for (const p of field<{ name?: string; port: number; targetPort?: number | string }[]>(svc, 'spec', 'ports') ?? []) {
      const target = p.targetPort ?? p.port;
      for (const w of targets) {
        const declared = w.pod.containers.flatMap((c) => c.ports ?? []);
        const ok = typeof target === 'string' ? declared.some((d) => d.name === target) : declared.some((d) => d.containerPort === target);
        if (!ok) problems.push(`${id(svc)} port ${p.name ?? p.port}: targetPort ${target} is not a containerPort of ${id(w.obj)}`);
      }
    }
  }

  for (const sts of all.filter((w) => w.obj.kind === 'StatefulSet')) {
    const name = field<string>(sts.obj, 'spec', 'serviceName');
    const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === name);
    if (name === undefined || svc === undefined) problems.push(`${id(sts.obj)}: serviceName ${name} is not a rendered Service`);
    else if (field<string>(svc, 'spec', 'clusterIP') !== 'None') problems.push(`${id(sts.obj)}: Service ${name} is not headless`);
  }

  for (const w of all) {
    const selector = field<Selector>(w.obj, 'spec', 'selector');
    if (w.obj.kind !== 'Job' && !selects(selector, w.labels)) problems.push(`${id(w.obj)}: spec.selector does not match its own pod template labels`);
  }

  for (const pdb of objects.filter((o) => o.kind === 'PodDisruptionBudget')) {
    if (!all.some((w) => selects(field<Selector>(pdb, 'spec', 'selector'), w.labels))) problems.push(`${id(pdb)}: selector matches no pod template`);
  }

  for (const hpa of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
    const ref = field<{ kind: string; name: string }>(hpa, 'spec', 'scaleTargetRef');
    const target = all.find((w) => w.obj.kind === ref?.kind && w.obj.metadata.name === ref?.name);
    if (target === undefined) {
      problems.push(`${id(hpa)}: scaleTargetRef ${ref?.kind}/${ref?.name} is not rendered`);
      continue;
    }
    for (const m of field<{ type: string; resource?: { name: string } }[]>(hpa, 'spec', 'metrics') ?? []) {
      if (m.type !== 'Resource' || m.resource === undefined) continue;
      const resource = m.resource.name;
      if (target.pod.containers.some((c) => c.resources?.requests?.[resource] === undefined)) problems.push(`${id(hpa)}: ${resource} utilisation needs ${resource} requests on every container of ${id(target.obj)}`);
    }
  }
  return problems;
}
