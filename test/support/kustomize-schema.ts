/**
 * Checks rendered Kubernetes objects against the Kubernetes API's schema, offline, with
 * kubernetes-models 4.5.1 (the last major that runs on Node 20), two ways:
 *
 * - `validate()` of the object's model: types, formats (quantities, int-or-string), required fields;
 * - TypeScript's excess-property check against the same package's interfaces, because the schema
 *   Kubernetes publishes allows unknown fields and so `validate()` accepts a misspelt
 *   `restartpolicy`, which `kubectl apply` (strict field validation) would refuse.
 *
 * A kind whose model the package lacks is a problem, not a pass.
 */
import { join } from 'node:path';
import ts from 'typescript';

type Model = new (data: unknown) => { validate(): void };

/** kubernetes-models' module for an apiVersion: `v1`, `apps/v1`, `rbac.authorization.k8s.io/v1`. */
function modulePath(apiVersion: string): string {
  return `kubernetes-models/${apiVersion}`;
}

function loadModel(apiVersion: string, kind: string): Model | null {
  let mod: unknown;
  try {
    // The path comes from the object: one require per apiVersion, cached by Node.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a module per apiVersion, chosen at run time; loadModel stays synchronous
    mod = require(modulePath(apiVersion)) as unknown;
  } catch {
    return null;
  }
  const model = (mod as Record<string, unknown>)[kind];
  return typeof model === 'function' ? (model as Model) : null;
}

/** Problems of one object under `validate()`; empty when it is valid. */
export function schemaProblems(object: { apiVersion: string; kind: string }): string[] {
  const model = loadModel(object.apiVersion, object.kind);
  if (model === null) return [`kubernetes-models has no model for ${object.apiVersion} ${object.kind}`];
  try {
    new model(object).validate();
    return [];
  } catch (err) {
    return [String((err as { message?: unknown }).message)];
  }
}

/**
 * Fields that no version of the schema in kubernetes-models knows, for every object at once (one
 * TypeScript program, about two seconds): each problem names the object and TypeScript's message.
 */
export function unknownFieldProblems(objects: readonly { apiVersion: string; kind: string; metadata: { name: string } }[]): string[] {
  const file = join(__dirname, '..', '..', '__rendered-manifests__.ts');
  const lines: string[] = [];
  const names: string[] = [];
  objects.forEach((object, i) => {
    lines.push(`import type { I${object.kind} as T${i} } from '${modulePath(object.apiVersion)}/${object.kind}';`);
    lines.push(`export const o${i}: T${i} = ${JSON.stringify(object)};`);
    names.push(`${object.kind} ${object.metadata.name}`);
  });
  const source = `${lines.join('\n')}\n`;
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (name, language, ...rest) =>
    name === file ? ts.createSourceFile(name, source, language) : getSourceFile(name, language, ...rest);
  host.fileExists = (name) => name === file || fileExists(name);
  host.readFile = (name) => (name === file ? source : readFile(name));
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
    // Line 2i+1 (0-based) holds object i; an import line failing means the kind has no interface.
    const object = line >= 0 ? names[Math.floor(line / 2)] : undefined;
    return `${object ?? 'rendered manifests'}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}
