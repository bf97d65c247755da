/** Load a model file with jiti, which keeps the model file's own line numbers in stack traces. */
import { createJiti } from "jiti";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { FlatgradError, type Site } from "../ir/shape.js";

import { MODEL_API } from "./apiPath.js";
import { isModel } from "../dsl/define.js";
import { siteOfError } from "./build.js";
import { userSite } from "../dsl/callsite.js";
import { ModelSource } from "./sites.js";

export interface LoadedFile {
  file: string;
  source: string;
  exported: unknown;
}

const firstLine = (s: string) => s.split("\n")[0]!.trim();

export async function loadModelFile(file: string): Promise<LoadedFile> {
  const abs = path.resolve(file);
  let source: string;
  try {
    source = readFileSync(abs, "utf8");
  } catch (e) {
    throw new FlatgradError(`cannot read model file: ${(e as Error).message}`, top(abs), "FG104");
  }
  // a fresh loader per load: an edited model (or a model it imports) is never served from a stale cache
  // "flatgrad" in a model file is the model API alone (defineModel and types): loading the whole
  // compiler again for every model would cost seconds
  // (the transpile cache is keyed by content, so it is safe across edits; the module cache is not)
  // extensions: the ones TypeScript ESM projects import (`./x.js` for x.ts), .ts first; jiti's default list
  // costs a failed lookup per extension for every import of the model and of flatgrad's builder
  const jiti = createJiti(import.meta.url, { extensions: [".ts", ".js", ".mts", ".mjs"], moduleCache: false, fsCache: true, sourceMaps: true, alias: { flatgrad: MODEL_API } });
  let mod: unknown;
  try {
    mod = await jiti.import(abs);
  } catch (e) {
    throw loadError(e, abs, source);
  }
  const hasDefault = typeof mod === "object" && mod !== null && "default" in mod;
  if (!hasDefault) throw noDefaultExport(mod, abs, source);
  return { file: abs, source, exported: (mod as { default: unknown }).default };
}

/** An error thrown while loading the model file, as a FlatgradError at the right line. */
function loadError(e: unknown, abs: string, source: string): FlatgradError {
  if (e instanceof FlatgradError) return e;
  const err = e instanceof Error ? e : new Error(String(e));
  const src = new ModelSource(abs, source);
  // a syntax error in the model file: TypeScript's parser says where and what
  const syntax = src.syntaxError();
  if (syntax) return new FlatgradError(`syntax error: ${syntax.message}`, syntax.site, "FG106");
  // jiti's own parse errors (e.g. in a file the model imports): "ParseError: <why>\n <file>:<line>:<col0>"
  const parse = /^(?:ParseError|SyntaxError): (.*)\n\s*(\S+?):(\d+):(\d+)\s*$/s.exec(err.message.trim());
  if (parse) {
    const file = path.resolve(parse[2]!);
    const where = file === abs ? "" : ` in ${path.relative(path.dirname(abs), file)}, imported by the model file`;
    // a TypeScript file: TypeScript's parser gives the clearer message and the exact position
    let ts: { site: Site; message: string } | undefined;
    try {
      if (file !== abs && /\.[cm]?tsx?$/.test(file)) ts = new ModelSource(file, readFileSync(file, "utf8")).syntaxError();
    } catch {
      ts = undefined;
    }
    if (ts) return new FlatgradError(`syntax error${where}: ${ts.message}`, ts.site, "FG106");
    return new FlatgradError(`syntax error${where}: ${firstLine(parse[1]!)}`, { file, line: Number(parse[3]), col: Number(parse[4]) + 1 }, "FG106");
  }
  const code = (err as { code?: unknown }).code;
  if (code === "MODULE_NOT_FOUND" || code === "ERR_MODULE_NOT_FOUND" || /^Cannot find (module|package) /.test(err.message)) {
    const spec = /Cannot find (?:module|package) ['"]([^'"]+)['"]/.exec(err.message)?.[1];
    const at = spec !== undefined ? src.importSite(spec) : undefined;
    if (at) return new FlatgradError(`cannot find module "${spec}" imported by the model file: check the path (relative imports start with ./ and name an existing file) or install the package`, at, "FG107");
    const by = (err as { requireStack?: string[] }).requireStack?.[0];
    // imported by a module the model imports: point at that module's import
    if (spec !== undefined && by && path.isAbsolute(by) && path.resolve(by) !== abs) {
      let inner: Site | undefined;
      try {
        inner = new ModelSource(path.resolve(by), readFileSync(by, "utf8")).importSite(spec);
      } catch {
        inner = undefined;
      }
      if (inner)
        return new FlatgradError(`cannot find module "${spec}" imported by ${path.relative(path.dirname(abs), by)} (which the model file imports)`, inner, "FG107");
    }
    return new FlatgradError(
      `cannot find module ${spec !== undefined ? `"${spec}"` : ""}${by && path.resolve(by) !== abs ? ` imported by ${path.relative(path.dirname(abs), by)}` : ""}: ${firstLine(err.message)}`,
      siteOfError(err, abs) ?? top(abs),
      "FG107",
    );
  }
  // the line that threw: in the model file, or in a module it imports
  const at = userSite(err.stack) ?? siteOfError(err, abs) ?? top(abs);
  const who = at.file === abs ? "the model file" : `${path.relative(path.dirname(abs), at.file)}, imported by the model file,`;
  return new FlatgradError(`${who} threw while loading: ${err.name && err.name !== "Error" ? `${err.name}: ` : ""}${firstLine(err.message)}`, at, "FG101");
}

const top = (file: string): Site => ({ file, line: 1, col: 1 });

/** No `export default`: point at what the file does export or define, and say what to write. */
function noDefaultExport(mod: unknown, abs: string, source: string): FlatgradError {
  const src = new ModelSource(abs, source);
  const fix = "write `export default defineModel({ ... })`";
  const exports = src.namedExports();
  const values = (mod ?? {}) as Record<string, unknown>;
  const model = exports.find((e) => isModel(values[e.name]));
  if (model) return new FlatgradError(`the model file has no default export; it exports the model as "${model.name}" instead: ${fix}`, src.site(model.node), "FG102");
  const call = src.defineModelCalls()[0];
  if (call) return new FlatgradError(`the model file has no default export; this defineModel(...) is not exported: ${fix}`, src.site(call), "FG102");
  const names = exports.map((e) => `"${e.name}"`).join(", ");
  return new FlatgradError(`the model file has no default export${names ? ` (it exports ${names})` : ""}: ${fix}`, exports[0] ? src.site(exports[0].node) : top(abs), "FG102");
}
