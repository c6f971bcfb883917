// The fields of pod templates that the deploy/k8s checks read (the schema check has
// already verified their types), shared by references.ts, pod-environment.ts and the test.
import type { K8sObject } from './render';

export interface NameRef { name: string; optional?: boolean }
export interface KeyRef extends NameRef { key: string }
export interface Probe { httpGet?: { port: number | string }; tcpSocket?: { port: number | string }; grpc?: { port: number } }
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; configMapKeyRef?: KeyRef; secretKeyRef?: KeyRef };
}
export interface ContainerPort { name?: string; containerPort: number; hostPort?: number }
export interface Container {
  name: string;
  ports?: ContainerPort[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: NameRef; secretRef?: NameRef }[];
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, unknown> };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; runAsNonRoot?: boolean };
}
interface KeyItems { key: string; path: string }
export interface Volume {
  name: string;
  secret?: { secretName: string; items?: KeyItems[]; optional?: boolean };
  configMap?: { name: string; items?: KeyItems[]; optional?: boolean };
}
export interface PodSpec { containers: Container[]; initContainers?: Container[]; volumes?: Volume[]; securityContext?: { runAsNonRoot?: boolean } }

/** spec.template.spec of a Deployment, StatefulSet, DaemonSet, ReplicaSet or Job. */
export function podSpec(workload: K8sObject): PodSpec {
  const spec = (workload.spec as { template?: { spec?: PodSpec } } | undefined)?.template?.spec;
  if (spec === undefined) throw new Error(`${workload.kind}/${workload.metadata.name} has no pod template`);
  return spec;
}
