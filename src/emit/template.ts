/**
 * The skeleton every generated module is made from (templates/module.ts), and the names it
 * takes: the value-level names visible inside `createModel` (the skeleton's own declarations,
 * `createModel`'s parameters, the globals it uses, and the typed arrays of every dtype). A buffer
 * named like one of them would shadow it, so the namer never hands them out.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Node, Project, SyntaxKind } from "ts-morph";
import type { DType } from "../ir/graph.js";

const TEMPLATE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../templates/module.ts");

/** The typed array of each dtype, as the generated module names it. */
export const ARRAY_OF: Record<DType, string> = { float32: "Float32Array", float64: "Float64Array", int32: "Int32Array" };

let text: string | undefined;
export const templateText = (): string => (text ??= readFileSync(TEMPLATE, "utf8"));

let taken: ReadonlySet<string> | undefined;
export function templateNames(): ReadonlySet<string> {
  if (taken) return taken;
  const project = new Project({ useInMemoryFileSystem: true, skipLoadingLibFiles: true });
  const sf = project.createSourceFile("module.ts", templateText());
  const names = new Set<string>(Object.values(ARRAY_OF));
  for (const s of sf.getStatements()) {
    if (Node.isFunctionDeclaration(s) && s.getName()) names.add(s.getName()!);
    if (Node.isVariableStatement(s)) for (const d of s.getDeclarations()) names.add(d.getName());
  }
  for (const p of sf.getFunctionOrThrow("createModel").getParameters()) names.add(p.getName());
  // globals: identifiers read as values that nothing in the skeleton declares (Math, Number, globalThis, …)
  for (const id of sf.getDescendantsOfKind(SyntaxKind.Identifier)) {
    const parent = id.getParent();
    const isName = (Node.isPropertyAccessExpression(parent) || Node.isPropertyAssignment(parent) || Node.isPropertySignature(parent) || Node.isMethodSignature(parent)) && parent.getNameNode() === id;
    if (!isName && !(id.getSymbol()?.getDeclarations().length ?? 0)) names.add(id.getText());
  }
  return (taken = names);
}
