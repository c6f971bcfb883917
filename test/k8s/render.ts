// Renders a kustomization with the pinned kubectl (deploy/k8s/tools/install-kubectl.sh), so
// the objects are exactly what `kubectl apply -k` would send.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = path.resolve(__dirname, '../..');
const INSTALLER = path.join(REPO_ROOT, 'deploy/k8s/tools/install-kubectl.sh');

/** A rendered Kubernetes object; fields are read with the accessors in objects.ts. */
export type K8sObject = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string } & Record<string, unknown> };

/** TT_KUBECTL, else the pinned binary the installer puts in .run/tools (make test runs it). */
export function kubectlPath(): string {
  const fromEnv = process.env.TT_KUBECTL;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const pinned = execFileSync(INSTALLER, ['--path'], { encoding: 'utf8' }).trim();
  if (!existsSync(pinned)) {
    throw new Error(`kubectl is not installed at ${pinned}: run deploy/k8s/tools/install-kubectl.sh (make test does), or set TT_KUBECTL`);
  }
  return pinned;
}

/** `kubectl kustomize <dir>` parsed into objects; throws with kustomize's message on a broken kustomization. */
export function renderKustomization(dir: string, kubectl = kubectlPath()): K8sObject[] {
  let out: string;
  try {
    out = execFileSync(kubectl, ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`kubectl kustomize ${dir} failed: ${stderr.trim() || String(err)}`);
  }
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(out)) {
    if (doc.errors.length > 0) throw new Error(`kubectl kustomize ${dir}: unparsable YAML: ${doc.errors[0].message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    objects.push(value as K8sObject);
  }
  return objects;
}
