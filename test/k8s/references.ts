// Cross-references between rendered objects that schemas cannot see and that a user trips
// over only when pods fail to start or never get traffic: probe ports, Service and budget
// selectors, autoscaler targets, ConfigMap/Secret names and keys (also through files read
// from mounted Secrets, e.g. TT_AES_KEY_FILE), and the port settings the services advertise.
import type { Container, NameRef, PodSpec, Volume } from './pod-spec';
import type { K8sObject } from './render';

interface Selector { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] }

/** A Deployment, StatefulSet, DaemonSet or Job and its pod template. */
export interface Workload { obj: K8sObject; labels: Record<string, string>; pod: PodSpec }

export interface ReferenceOptions {
  /** Secrets the operator creates outside the rendered output (the base has none of its own). */
  externalSecrets?: ReadonlySet<string>;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);
export const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;

export function field<T>(obj: unknown, ...keys: string[]): T | undefined {
  let cur: unknown = obj;
  for (const k of keys) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur as T | undefined;
}

export const id = (o: K8sObject): string => `${o.kind}/${o.metadata.name}`;

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

type Kind = 'ConfigMap' | 'Secret';

/** Every problem found, one line each (empty when the objects hang together). */
export function referenceProblems(objects: readonly K8sObject[], opts: ReferenceOptions = {}): string[] {
  return new ReferenceCheck(objects, opts.externalSecrets ?? new Set()).run();
}

class ReferenceCheck {
  private readonly problems: string[] = [];
  private readonly workloads: Workload[];

  constructor(
    private readonly objects: readonly K8sObject[],
    private readonly externalSecrets: ReadonlySet<string>,
  ) {
    this.workloads = workloads(objects);
  }

  run(): string[] {
    for (const w of this.workloads) {
      const volumes = new Map((w.pod.volumes ?? []).map((v) => [v.name, v]));
      for (const c of [...(w.pod.initContainers ?? []), ...w.pod.containers]) this.container(`${id(w.obj)} container ${c.name}`, c, volumes);
      for (const v of volumes.values()) this.volume(`${id(w.obj)} volume ${v.name}`, v);
      const selector = field<Selector>(w.obj, 'spec', 'selector');
      if (w.obj.kind !== 'Job' && !selects(selector, w.labels)) this.problems.push(`${id(w.obj)}: spec.selector does not match its own pod template labels`);
    }
    this.services();
    this.statefulSets();
    this.budgets();
    this.autoscalers();
    return this.problems;
  }

  private keysOf(kind: Kind, name: string): Set<string> | undefined {
    const o = this.objects.find((x) => x.kind === kind && x.metadata.name === name);
    if (o === undefined) return undefined;
    return new Set(['data', 'stringData', 'binaryData'].flatMap((f) => Object.keys(field<object>(o, f) ?? {})));
  }

  /** Keys of the object, undefined when it is not rendered (a problem unless optional or external). */
  private resolve(where: string, kind: Kind, ref: NameRef): Set<string> | undefined {
    const keys = this.keysOf(kind, ref.name);
    if (keys === undefined && !ref.optional && !(kind === 'Secret' && this.externalSecrets.has(ref.name))) this.problems.push(`${where}: ${kind} ${ref.name} does not exist`);
    return keys;
  }

  private container(at: string, c: Container, volumes: Map<string, Volume>): void {
    const ports = c.ports ?? [];
    const portNames = new Set(ports.flatMap((p) => (p.name === undefined ? [] : [p.name])));
    const portNumbers = new Set(ports.map((p) => p.containerPort));
    // Probes must hit a port the container declares (a renamed port silently breaks them).
    for (const kind of PROBES) {
      const probe = c[kind];
      const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port ?? probe?.grpc?.port;
      if (typeof port === 'string' && !portNames.has(port)) this.problems.push(`${at}: ${kind} port "${port}" is not a named containerPort`);
      if (typeof port === 'number' && !portNumbers.has(port)) this.problems.push(`${at}: ${kind} port ${port} is not a declared containerPort`);
    }
    // The API server's rule for port names (IANA service names), which the schema leaves out.
    for (const p of ports) {
      if (p.name !== undefined && !(/^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/.test(p.name) && /[a-z]/.test(p.name) && !p.name.includes('--'))) this.problems.push(`${at}: port name "${p.name}" is not an IANA service name (at most 15 of a-z, 0-9, '-')`);
    }
    if (portNames.size !== ports.filter((p) => p.name !== undefined).length) this.problems.push(`${at}: duplicate port names`);
    // Gateways advertise their own port number to clients: it must be the same outside.
    for (const p of ports) {
      if (p.hostPort !== undefined && p.hostPort !== p.containerPort) this.problems.push(`${at}: hostPort ${p.hostPort} differs from containerPort ${p.containerPort}`);
    }
    for (const from of c.envFrom ?? []) {
      if (from.configMapRef) this.resolve(at, 'ConfigMap', from.configMapRef);
      if (from.secretRef) this.resolve(at, 'Secret', from.secretRef);
    }
    for (const e of c.env ?? []) {
      for (const [kind, ref] of [['ConfigMap', e.valueFrom?.configMapKeyRef], ['Secret', e.valueFrom?.secretKeyRef]] as const) {
        if (ref === undefined) continue;
        const keys = this.resolve(`${at} env ${e.name}`, kind, ref);
        if (keys !== undefined && !keys.has(ref.key) && !ref.optional) this.problems.push(`${at} env ${e.name}: ${kind} ${ref.name} has no key ${ref.key}`);
      }
      // A port setting that is not a declared port: probes, Services and what the service advertises disagree.
      if (/^TT_[A-Z_]*PORT$/.test(e.name) && e.value !== undefined && !portNumbers.has(Number(e.value))) {
        this.problems.push(`${at} env ${e.name}=${e.value}: not a declared containerPort`);
      }
      if (e.value?.startsWith('/')) this.mountedFile(`${at} env ${e.name}=${e.value}`, e.value, c, volumes);
    }
    for (const m of c.volumeMounts ?? []) {
      if (!volumes.has(m.name)) this.problems.push(`${at}: volumeMount ${m.name} names no volume`);
    }
  }

  /** A file the service reads (TT_*_FILE, TT_TLS_CERT, ...) under a mounted ConfigMap/Secret is one of its keys. */
  private mountedFile(at: string, file: string, c: Container, volumes: Map<string, Volume>): void {
    for (const m of c.volumeMounts ?? []) {
      const dir = `${m.mountPath.replace(/\/+$/, '')}/`;
      if (m.subPath !== undefined || !file.startsWith(dir)) continue;
      const source = volumeSource(volumes.get(m.name));
      const keys = source && this.keysOf(source.kind, source.ref.name);
      if (source === undefined || keys === undefined) continue; // not a ConfigMap/Secret, or reported with the volume
      const files = source.items ? new Set(source.items.map((i) => i.path)) : keys;
      const name = file.slice(dir.length);
      if (!files.has(name)) this.problems.push(`${at}: ${source.kind} ${source.ref.name} mounted at ${m.mountPath} has no ${name}`);
    }
  }

  private volume(at: string, v: Volume): void {
    const source = volumeSource(v);
    if (source === undefined) return;
    const keys = this.resolve(at, source.kind, source.ref);
    for (const item of source.items ?? []) {
      if (keys !== undefined && !keys.has(item.key)) this.problems.push(`${at}: ${source.kind} ${source.ref.name} has no key ${item.key}`);
    }
  }

  private services(): void {
    for (const svc of this.objects.filter((o) => o.kind === 'Service')) {
      const selector = field<Record<string, string>>(svc, 'spec', 'selector');
      if (selector === undefined) continue; // endpoints supplied some other way
      const targets = this.workloads.filter((w) => selects({ matchLabels: selector }, w.labels));
      if (targets.length === 0) {
        this.problems.push(`${id(svc)}: selector ${JSON.stringify(selector)} matches no pod template`);
        continue;
      }
      for (const p of field<{ name?: string; port: number; targetPort?: number | string }[]>(svc, 'spec', 'ports') ?? []) {
        const target = p.targetPort ?? p.port;
        for (const w of targets) {
          const declared = w.pod.containers.flatMap((c) => c.ports ?? []);
          const ok = typeof target === 'string' ? declared.some((d) => d.name === target) : declared.some((d) => d.containerPort === target);
          if (!ok) this.problems.push(`${id(svc)} port ${p.name ?? p.port}: targetPort ${target} is not a containerPort of ${id(w.obj)}`);
        }
      }
    }
  }

  private statefulSets(): void {
    for (const sts of this.workloads.filter((w) => w.obj.kind === 'StatefulSet')) {
      const name = field<string>(sts.obj, 'spec', 'serviceName');
      const svc = this.objects.find((o) => o.kind === 'Service' && o.metadata.name === name);
      if (svc === undefined) this.problems.push(`${id(sts.obj)}: serviceName ${name} is not a rendered Service`);
      else if (field<string>(svc, 'spec', 'clusterIP') !== 'None') this.problems.push(`${id(sts.obj)}: Service ${name} is not headless`);
    }
  }

  private budgets(): void {
    for (const pdb of this.objects.filter((o) => o.kind === 'PodDisruptionBudget')) {
      const selector = field<Selector>(pdb, 'spec', 'selector');
      if (!this.workloads.some((w) => selects(selector, w.labels))) this.problems.push(`${id(pdb)}: selector matches no pod template`);
    }
  }

  private autoscalers(): void {
    for (const hpa of this.objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
      const ref = field<{ kind: string; name: string }>(hpa, 'spec', 'scaleTargetRef');
      const target = this.workloads.find((w) => w.obj.kind === ref?.kind && w.obj.metadata.name === ref?.name);
      if (target === undefined) {
        this.problems.push(`${id(hpa)}: scaleTargetRef ${ref?.kind}/${ref?.name} is not rendered`);
        continue;
      }
      // Utilisation is relative to the requests: a container without one breaks the metric.
      for (const m of field<{ type: string; resource?: { name: string } }[]>(hpa, 'spec', 'metrics') ?? []) {
        const resource = m.type === 'Resource' ? m.resource?.name : undefined;
        if (resource !== undefined && target.pod.containers.some((c) => c.resources?.requests?.[resource] === undefined)) {
          this.problems.push(`${id(hpa)}: ${resource} utilisation needs ${resource} requests on every container of ${id(target.obj)}`);
        }
      }
    }
  }
}

function volumeSource(v: Volume | undefined): { kind: Kind; ref: NameRef; items?: { key: string; path: string }[] } | undefined {
  if (v?.secret) return { kind: 'Secret', ref: { name: v.secret.secretName, optional: v.secret.optional }, items: v.secret.items };
  if (v?.configMap) return { kind: 'ConfigMap', ref: { name: v.configMap.name, optional: v.configMap.optional }, items: v.configMap.items };
  return undefined;
}
