/**
 * The files a model file imports, followed through relative imports: a change to any of them
 * changes the model. Bare specifiers ("flatgrad", packages) are not followed: a package changes
 * only with an install, and a bundler restarts for that.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

type PreProcess = (source: string) => { importedFiles: { fileName: string }[] };

let preProcess: PreProcess | undefined;
/** TypeScript's own import scanner (from ts-morph, a dependency already): it reads every import form, and nothing else. */
async function scanner(): Promise<PreProcess> {
  if (!preProcess) {
    const { ts } = await import("ts-morph");
    preProcess = (source) => ts.preProcessFile(source, true, true);
  }
  return preProcess;
}

const isFile = (f: string) => existsSync(f) && statSync(f).isFile();

/** A relative specifier as Node ESM TypeScript projects write it (`./x.js` for x.ts), or undefined. */
function resolveRelative(spec: string, from: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  const swapped = base.replace(/\.([cm]?)js$/, ".$1ts");
  const candidates = [swapped, base, `${base}.ts`, `${base}.mts`, `${base}.js`, `${base}.mjs`, path.join(base, "index.ts"), path.join(base, "index.js")];
  return candidates.find(isFile);
}

/** Every file `file` imports, directly or not, through relative imports (absolute paths, sorted; `file` itself excluded). */
export async function importsOf(file: string): Promise<string[]> {
  const scan = await scanner();
  const seen = new Set<string>([file]);
  const todo = [file];
  while (todo.length) {
    const f = todo.pop()!;
    let source: string;
    try {
      source = readFileSync(f, "utf8");
    } catch {
      continue; // a missing file: the compile reports it
    }
    for (const { fileName } of scan(source).importedFiles) {
      if (!fileName.startsWith(".")) continue;
      const dep = resolveRelative(fileName, f);
      if (dep && !seen.has(dep) && !dep.split(path.sep).includes("node_modules")) {
        seen.add(dep);
        todo.push(dep);
      }
    }
  }
  seen.delete(file);
  return [...seen].sort();
}

/** The contents of files, hashed: a model is stale when this changes (mtimes can repeat within a quick edit). */
export function stampOf(files: readonly string[]): string {
  const h = createHash("sha1");
  for (const f of files) {
    h.update(f).update("\0");
    try {
      h.update(readFileSync(f));
    } catch {
      h.update("\u0000missing");
    }
  }
  return h.digest("hex");
}
