// The environment a container of a rendered pod template would start with, built as the
// kubelet builds it: envFrom ConfigMaps/Secrets, then env values, downward-API fields and
// Secret/ConfigMap keys. Mounted ConfigMap/Secret volumes are written under a local
// directory and paths into them rewritten, so `<KEY>_FILE` settings read real files.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PodSpec } from './pod-spec';
import type { K8sObject } from './render';

/** What the downward API would return in a pod. */
export interface PodFacts {
  podName: string;
  podIP: string;
  hostIP: string;
}

function objectData(objects: readonly K8sObject[], kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (o === undefined) throw new Error(`${kind} ${name} is not rendered`);
  const data = (o.data ?? {}) as Record<string, string>;
  // Secret data is base64 (kustomize may wrap it over lines); ConfigMap data is plain.
  return kind === 'Secret' ? Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])) : { ...data };
}

function fieldValue(fieldPath: string, facts: PodFacts): string {
  switch (fieldPath) {
    case 'metadata.name': return facts.podName;
    case 'status.podIP': return facts.podIP;
    case 'status.hostIP': return facts.hostIP;
    default: throw new Error(`downward API field ${fieldPath} is not modelled here`);
  }
}

export function containerEnvironment(
  objects: readonly K8sObject[],
  pod: PodSpec,
  containerName: string,
  facts: PodFacts,
  filesDir: string,
): Record<string, string> {
  const container = [...(pod.initContainers ?? []), ...pod.containers].find((c) => c.name === containerName);
  if (container === undefined) throw new Error(`no container ${containerName}`);
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, objectData(objects, 'ConfigMap', from.configMapRef.name));
    if (from.secretRef) Object.assign(env, objectData(objects, 'Secret', from.secretRef.name));
  }

  const mounts: { mountPath: string; local: string }[] = [];
  for (const m of container.volumeMounts ?? []) {
    const v = (pod.volumes ?? []).find((x) => x.name === m.name);
    const source = v?.secret ? objectData(objects, 'Secret', v.secret.secretName) : v?.configMap ? objectData(objects, 'ConfigMap', v.configMap.name) : undefined;
    if (source === undefined) continue;
    const local = path.join(filesDir, containerName, m.name);
    mkdirSync(local, { recursive: true });
    for (const [key, value] of Object.entries(source)) writeFileSync(path.join(local, key), value);
    mounts.push({ mountPath: m.mountPath.replace(/\/+$/, ''), local });
  }
  const localPath = (value: string): string => {
    const m = mounts.find((x) => value.startsWith(`${x.mountPath}/`));
    return m === undefined ? value : m.local + value.slice(m.mountPath.length);
  };

  // A ConfigMap may name a mounted file too (a *_FILE setting).
  for (const key of Object.keys(env)) env[key] = localPath(env[key]);
  for (const e of container.env ?? []) {
    const vf = e.valueFrom;
    if (vf?.fieldRef) env[e.name] = fieldValue(vf.fieldRef.fieldPath, facts);
    else if (vf?.configMapKeyRef) env[e.name] = objectData(objects, 'ConfigMap', vf.configMapKeyRef.name)[vf.configMapKeyRef.key];
    else if (vf?.secretKeyRef) env[e.name] = objectData(objects, 'Secret', vf.secretKeyRef.name)[vf.secretKeyRef.key];
    else env[e.name] = localPath(e.value ?? '');
  }
  return env;
}
