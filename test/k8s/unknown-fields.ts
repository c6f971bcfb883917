// Fields the Kubernetes API does not know (a typo such as `livenesProbe` is silently dropped
// by the API server's non-strict paths and never reported by the OpenAPI schemas, which
// allow extra properties). kubernetes-models' TypeScript interfaces follow the same OpenAPI
// definitions field by field, so each object is type-checked as an object literal of its
// kind's interface: TypeScript's excess-property check names every unknown field, at any depth.
import path from 'node:path';
import ts from 'typescript';
import { K8sObject, REPO_ROOT } from './render';

const EXCESS_PROPERTY = new Set([2353, 2561]); // "may only specify known properties" (and its "did you mean")
// The virtual file holding the objects (never written); resolved from here so imports find node_modules.
const VIRTUAL_FILE = path.join(REPO_ROOT, 'test/k8s/__rendered-objects__.ts');
// ES5's declarations suffice for object literals and load in a third of the time of the default lib.
const OPTIONS: ts.CompilerOptions = {
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: [],
  lib: ['lib.es5.d.ts'],
  module: ts.ModuleKind.CommonJS,
  moduleResolution: ts.ModuleResolutionKind.Node10,
  target: ts.ScriptTarget.ES2022,
};

/**
 * One line per object with an unknown field: "Kind/name: <TypeScript's message>" (TypeScript
 * names the first one of each object). Kinds without a model are the schema check's to report.
 */
export function unknownFieldProblems(objects: readonly K8sObject[]): string[] {
  const file = VIRTUAL_FILE;
  const lines: string[] = [];
  const owners: { start: number; where: string }[] = [];
  let offset = 0;
  objects.forEach((o, i) => {
    if (!/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(o.apiVersion) || !/^[A-Z][A-Za-z0-9]*$/.test(o.kind)) return;
    const line = `import type { I${o.kind} as T${i} } from 'kubernetes-models/${o.apiVersion}/${o.kind}';\nexport const o${i}: T${i} = ${JSON.stringify(o)};\n`;
    owners.push({ start: offset, where: `${o.kind}/${o.metadata.name}` });
    lines.push(line);
    offset += line.length;
  });
  const source = lines.join('');
  const host = ts.createCompilerHost(OPTIONS);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, onError) => (path.resolve(name) === file ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, onError));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === file || fileExists(name);
  const program = ts.createProgram({ rootNames: [file], options: OPTIONS, host });
  return ts
    .getPreEmitDiagnostics(program, program.getSourceFile(file))
    .filter((d) => EXCESS_PROPERTY.has(d.code) && d.start !== undefined)
    .map((d) => {
      const owner = [...owners].reverse().find((x) => x.start <= (d.start ?? 0));
      return `${owner?.where ?? '?'}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });
}
