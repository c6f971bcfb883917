// Validates rendered objects against the Kubernetes OpenAPI schemas, through
// kubernetes-models (one generated model and validator per apiVersion/kind; 4.x, the last
// line that runs on Node 20 and loads as CommonJS).
import type { K8sObject } from './render';

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

/** "apps/v1" + "Deployment" → kubernetes-models/apps/v1/Deployment; core "v1" → kubernetes-models/v1/... */
function modelModule(apiVersion: string, kind: string): string {
  if (!/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(apiVersion) || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) {
    throw new Error(`not a Kubernetes apiVersion/kind: ${apiVersion} ${kind}`);
  }
  return `kubernetes-models/${apiVersion}/${kind}`;
}

function loadModel(apiVersion: string, kind: string): ModelClass {
  const mod = modelModule(apiVersion, kind);
  let exports: Record<string, unknown>;
  try {
    exports = require(mod) as Record<string, unknown>;
  } catch {
    throw new Error(`no Kubernetes schema for ${apiVersion} ${kind} (is the apiVersion right?)`);
  }
  const model = exports[kind];
  if (typeof model !== 'function') throw new Error(`no Kubernetes schema for ${apiVersion} ${kind}`);
  return model as ModelClass;
}

/**
 * kustomize wraps long base64 values (Secret data, ConfigMap binaryData) over several lines;
 * the API server's base64 decoding skips line breaks, the schema's "byte" format does not.
 */
function unwrapBase64(obj: K8sObject): K8sObject {
  const field = obj.kind === 'Secret' ? 'data' : obj.kind === 'ConfigMap' ? 'binaryData' : undefined;
  const values = field === undefined ? undefined : obj[field];
  if (field === undefined || values === null || typeof values !== 'object') return obj;
  const unwrapped = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === 'string' ? v.replace(/[\r\n]/g, '') : v]));
  return { ...obj, [field]: unwrapped };
}

/** The schema violations of one object, as "Kind/name: path message" lines (empty when valid). */
export function schemaErrors(obj: K8sObject): string[] {
  const where = `${obj.kind}/${obj.metadata?.name ?? '?'}`;
  let model: ModelClass;
  try {
    model = loadModel(obj.apiVersion, obj.kind);
  } catch (err) {
    return [`${where}: ${(err as Error).message}`];
  }
  try {
    new model(unwrapBase64(obj)).validate();
    return [];
  } catch (err) {
    return [`${where}: ${(err as Error).message}`];
  }
}
