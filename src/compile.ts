/**
 * The programmatic compiler: model files in, generated modules out. Every model is compiled in
 * memory first; files are written only when all succeed, each through a temporary file and a
 * rename, and only when its bytes changed.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync, unlinkSync } from "node:fs";
import path from "node:path";
import { emitModule } from "./emit/emit.js";
import { buildModel } from "./front/build.js";
import { loadModelFile } from "./front/load.js";
import { FlatgradError, type ErrorCode, type Site } from "./ir/shape.js";
import { lower } from "./lower/lower.js";
import { runPipeline } from "./passes/pipeline.js";

export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  code: ErrorCode;
  message: string;
}

export interface CompiledFile {
  model: string;
  path: string;
  status: "written" | "unchanged" | "pending";
  contents: string;
}

export interface CompileOptions {
  /** Model files. */
  models: string[];
  /** Output folder (default "generated"). */
  outDir?: string;
  /** Project root: paths in headers, comments and diagnostics are relative to it (default: cwd). */
  root?: string;
  /** "write" (default) writes changed files; "dry-run" writes nothing. */
  mode?: "write" | "dry-run";
}

export interface CompileResult {
  files: CompiledFile[];
  diagnostics: Diagnostic[];
}

const posix = (p: string) => p.split(path.sep).join("/");

/** `models/seed-net.model.ts` → `seed-net`. */
export const baseName = (file: string) => path.basename(file).replace(/\.model\.[cm]?[tj]s$/, "").replace(/\.[cm]?[tj]s$/, "");

/** Compile one model file's source to the generated module's text. */
export async function compileModelFile(file: string, root = process.cwd()): Promise<string> {
  const loaded = await loadModelFile(file);
  const built = buildModel(loaded.exported, baseName(file), loaded.file, loaded.source);
  const graph = runPipeline(built.graph);
  const prog = lower(graph);
  return emitModule(prog, { file: posix(path.relative(root, loaded.file)), optimizer: built.optimizer, paramInit: built.paramInit });
}

/**
 * Compile a model definition held in memory (tests, tools): the same pipeline without a model file.
 * Returns the generated module's text and the optimised graph it was generated from.
 */
export async function compileDefinition(def: unknown, name: string, file = `${name}.model.ts`) {
  const built = buildModel(def, name);
  const graph = runPipeline(built.graph);
  const prog = lower(graph);
  const text = await emitModule(prog, { file: posix(file), optimizer: built.optimizer, paramInit: built.paramInit });
  return { text, graph, built, program: prog };
}

export function toDiagnostic(e: unknown, file: string, root: string): Diagnostic {
  const rel = (f: string) => posix(path.relative(root, f));
  if (e instanceof FlatgradError) {
    const s: Site | undefined = e.site;
    return { file: rel(s?.file ?? path.resolve(file)), line: s?.line ?? 1, col: s?.col ?? 1, code: e.code, message: e.message };
  }
  return { file: rel(path.resolve(file)), line: 1, col: 1, code: "FG900", message: `internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` };
}

export const formatDiagnostic = (d: Diagnostic) => `${d.file}:${d.line}:${d.col} - error ${d.code}: ${d.message}`;

function readIfFile(abs: string): string | undefined {
  try {
    return readFileSync(abs, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * Write the changed files all or nothing: every new file goes to a temporary file first; only
 * when all are written are they renamed into place, and a failed rename restores the files
 * already replaced. Unchanged files are not touched (their mtime stays).
 */
function writeAll(files: CompiledFile[], root: string): Diagnostic | undefined {
  const todo = files.filter((f) => {
    const abs = path.resolve(root, f.path);
    const same = readIfFile(abs) === f.contents;
    f.status = same ? "unchanged" : "pending";
    return !same;
  });
  const temps: string[] = [];
  const replaced: { abs: string; before: string | undefined }[] = [];
  let current = todo[0]?.path ?? "";
  try {
    for (const f of todo) {
      current = f.path;
      const abs = path.resolve(root, f.path);
      mkdirSync(path.dirname(abs), { recursive: true });
      const tmp = `${abs}.${process.pid}.tmp`;
      temps.push(tmp);
      writeFileSync(tmp, f.contents);
    }
    todo.forEach((f, i) => {
      current = f.path;
      const abs = path.resolve(root, f.path);
      const before = existsSync(abs) ? readFileSync(abs, "utf8") : undefined; // throws if it is not a file: nothing renamed past here
      renameSync(temps[i]!, abs);
      replaced.push({ abs, before });
      f.status = "written";
    });
    return undefined;
  } catch (e) {
    for (const r of replaced.reverse()) {
      try {
        if (r.before === undefined) unlinkSync(r.abs);
        else writeFileSync(r.abs, r.before);
      } catch {
        // best effort: the diagnostic below still reports the failure
      }
    }
    for (const t of temps) if (existsSync(t)) unlinkSync(t);
    for (const f of todo) f.status = "pending";
    return { file: current, line: 1, col: 1, code: "FG170", message: `cannot write ${current}: ${(e as Error).message}` };
  }
}

export async function compile(opts: CompileOptions): Promise<CompileResult> {
  const root = path.resolve(opts.root ?? process.cwd());
  const outDir = path.resolve(root, opts.outDir ?? "generated");
  const files: CompiledFile[] = [];
  const diagnostics: Diagnostic[] = [];
  const models = [...new Set(opts.models.map((m) => path.resolve(root, m)))].sort();
  const seen = new Map<string, string>();
  for (const m of models) {
    const out = path.join(outDir, `${baseName(m)}.ts`);
    if (seen.has(out)) {
      diagnostics.push({ file: posix(path.relative(root, m)), line: 1, col: 1, code: "FG105", message: `two models would write ${posix(path.relative(root, out))} (also ${seen.get(out)})` });
      continue;
    }
    seen.set(out, posix(path.relative(root, m)));
    try {
      const contents = await compileModelFile(m, root);
      files.push({ model: posix(path.relative(root, m)), path: posix(path.relative(root, out)), status: "pending", contents });
    } catch (e) {
      diagnostics.push(toDiagnostic(e, m, root));
    }
  }
  if (diagnostics.length || opts.mode === "dry-run") return { files, diagnostics };
  const err = writeAll(files, root);
  if (err) diagnostics.push(err);
  return { files, diagnostics };
}
