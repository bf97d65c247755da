/**
 * The command line: a thin wrapper over `compile()` and `explain()`.
 * Exit codes: 0 ok or up to date; 1 model errors, drift or no model file; 2 bad usage, bad config or an internal error.
 * Logs go to stderr; `explain` writes its result to stdout.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import type { CompiledFile, CompileResult } from "../compile.js";
import { findRoot, isGlob, userCwd } from "../paths.js";
import { formatGithub, formatPretty } from "./report.js";
// Only light modules above: --help, --version and usage errors answer without loading the
// compiler (ts-morph, prettier), which compileCommand imports when it runs.

const USAGE = `usage:
  flatgrad compile [files or globs...] [options]
      compile model files (default: models/**/*.model.ts) to <out-dir>/NAME.ts
      -o, --out-dir <dir>   output folder (default: generated); --out is the same
      --check               compile in memory, print stale:/missing:/orphan: lines, write nothing; exit 1 on drift
      --dry-run             compile and report what would change, write nothing
      --clean               delete orphans: generated files (with the flatgrad header) whose model is gone
      --watch               recompile on every change (debounced); keeps running on errors
      --reporter <name>     pretty (default) or github (::error annotations)
      -q, --quiet           print errors only
      --verbose             print one line per file
      --debug               debug build: a NaN or Infinity after any kernel throws, naming the value, its
                            equation, the model-file line and the step; model.stats() summarises every tensor
      --readable            readable build, for reading alongside a tutorial: every matmul a plain triple loop
                            (no register blocking, no WebAssembly SIMD); same numbers, slower
      --emit <ts|js>        ts (default): NAME.ts; js: NAME.js and its declarations NAME.d.ts
      --strict              warnings (FGWnnn, likely mistakes in a model) fail the build (exit 1)
      --verify              after compiling, run verify on the same models (exit 1 on a failure)
  flatgrad explain <model file> [--format text|dot|mermaid]
      print the forward and the derived backward graph as numbered equations with shapes,
      and the rewrites applied; dot and mermaid draw them (backward edges dashed)

  flatgrad verify [files or globs...] [--seed <n>] [--samples <n>]
      compile each model in float64 and check every param gradient of the generated module, and every
      g.grad inside the model, against central finite differences on seeded random inputs; prints a
      table per model (tensor, largest relative error, pass/fail, model line); exit 1 on a failure
      --seed <n>            the inputs' and params' seed (default 0)
      --samples <n>         elements checked per tensor (default 32; 0: every element)

  flatgrad export --torch <model files...> [--out <dir>]
      write <dir>/NAME.py (default export/): the model as a PyTorch nn.Module with the same names,
      forward(**inputs) -> (loss, outputs), and make_optimizer(model); plus safetensors_io.py to read and
      write flatgrad checkpoints in Python
  flatgrad export --onnx <model file> [--params <file.safetensors>] [--out <dir>]
      write <dir>/NAME.onnx: the inference graph (eval mode), opset 17, with the params (from --params,
      else createModel({ seed: 0 })'s) as initializers under their names

  flatgrad import <file.onnx> [--out <dir>] [--loss mse|softmaxCrossEntropy|bceWithLogits]
      write <dir>/NAME.model.ts (default models/: the ONNX graph as builder calls, each naming its ONNX node)
      and <dir>/NAME.safetensors (its initializers, keyed by the params' names, for loadParams); --loss adds
      an input "target" shaped like the one output and returns that loss, to fine-tune

  flatgrad --version

Paths are relative to the folder the command is typed in (also through npm run).
exit codes: 0 ok or up to date, 1 model errors, drift or no model file, 2 bad usage, config or internal error`;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
}

const defaultIo = (): Io => ({
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  isTTY: Boolean(process.stderr.isTTY),
  env: process.env,
});

class UsageError extends Error {}

export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === "--help" || command === "-h" || command === "help") {
      io.out(USAGE + "\n");
      return 0;
    }
    if (command === "--version" || command === "-v" || command === "version") {
      const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
      io.out(`${pkg.version}\n`);
      return 0;
    }
    if (command === "compile") return await compileCommand(rest, io);
    if (command === "verify") {
      const { verifyCommand } = await import("./verify.js");
      return await verifyCommand(rest, io, userCwd(io.env));
    }
    if (command === "explain") {
      const { explainCommand } = await import("./explain.js");
      return await explainCommand(rest, io, userCwd(io.env));
    }
    if (command === "export") {
      const { exportCommand, ExportUsageError } = await import("./export.js");
      try {
        return await exportCommand(rest, io, userCwd(io.env));
      } catch (e) {
        throw e instanceof ExportUsageError ? new UsageError(e.message) : e;
      }
    }
    if (command === "import") {
      const { importCommand, ImportUsageError } = await import("./import.js");
      try {
        return await importCommand(rest, io, userCwd(io.env));
      } catch (e) {
        throw e instanceof ImportUsageError ? new UsageError(e.message) : e;
      }
    }
    throw new UsageError(command === undefined ? "no command given" : `unknown command "${command}"`);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      io.err(`flatgrad: ${(e as Error).message}\n\n${USAGE}\n`);
      return 2;
    }
    io.err(`flatgrad: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
}

async function compileCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      "out-dir": { type: "string", short: "o" },
      out: { type: "string" },
      check: { type: "boolean" },
      "dry-run": { type: "boolean" },
      clean: { type: "boolean" },
      watch: { type: "boolean" },
      reporter: { type: "string" },
      quiet: { type: "boolean", short: "q" },
      verbose: { type: "boolean" },
      debug: { type: "boolean" },
      readable: { type: "boolean" },
      emit: { type: "string" },
      strict: { type: "boolean" },
      verify: { type: "boolean" },
      seed: { type: "string" },
      samples: { type: "string" },
    },
  });
  const emit = values.emit ?? "ts";
  if (emit !== "ts" && emit !== "js") throw new UsageError(`unknown --emit "${emit}" (ts or js)`);
  const reporter = values.reporter ?? "pretty";
  if (reporter !== "pretty" && reporter !== "github") throw new UsageError(`unknown reporter "${reporter}" (pretty or github)`);
  if (values.check && values["dry-run"]) throw new UsageError("--check and --dry-run do not go together");
  if (values.watch && (values.check || values["dry-run"])) throw new UsageError("--watch writes files: it does not go with --check or --dry-run");
  if (values.quiet && values.verbose) throw new UsageError("--quiet and --verbose do not go together");
  if ((values.seed !== undefined || values.samples !== undefined) && !values.verify) throw new UsageError("--seed and --samples go with --verify");
  if (values.verify && values.watch) throw new UsageError("--verify does not go with --watch");
  const cwd = userCwd(io.env);
  const root = findRoot(cwd);
  // a file named on the command line that does not exist: say where it was looked for
  for (const p of positionals)
    if (!isGlob(p) && !existsSync(path.resolve(cwd, p))) {
      io.err(`flatgrad: ${p}: no such file (looked in ${path.resolve(cwd, p)})\n`);
      return 1;
    }
  const [{ compile, DEFAULT_MODELS }, { loadConfig }] = await Promise.all([import("../compile.js"), import("./config.js")]);
  const config = await loadConfig(root);
  const cwdRel = (p: string) => path.relative(root, path.resolve(cwd, p)) || ".";
  const models = positionals.length ? positionals.map((p) => (isGlob(p) ? path.posix.join(cwdRel(".").split(path.sep).join("/"), p) : cwdRel(p))) : (config.models ?? DEFAULT_MODELS);
  const outDirFlag = values["out-dir"] ?? values.out;
  const outDir = outDirFlag !== undefined ? cwdRel(outDirFlag) : (config.outDir ?? "generated");
  const mode = values.check ? "check" : values["dry-run"] ? "dry-run" : "write";
  const color = io.isTTY && !io.env.NO_COLOR;

  const once = async (): Promise<number> => {
    const t0 = performance.now();
    const res = await compile({ models, outDir, root, mode, clean: values.clean === true, format: config.format ?? true, debug: values.debug === true, readable: values.readable === true, emit, strict: values.strict === true });
    if (!res.diagnostics.length && !res.files.some((f) => f.model)) {
      io.err(`flatgrad: no model file matches ${models.join(", ")} (in ${root})\n${noModelHint(root, models)}`);
      return 1;
    }
    return report(res, (performance.now() - t0) / 1000);
  };
  const report = (res: CompileResult, seconds: number): number => {
    // warnings first (printed like errors; --quiet hides them unless --strict makes them fail)
    if (!values.quiet || values.strict) for (const d of res.warnings) io.err((reporter === "github" ? formatGithub(d) : formatPretty(d, root, { color })) + "\n");
    for (const d of res.diagnostics) io.err((reporter === "github" ? formatGithub(d) : formatPretty(d, root, { color })) + "\n");
    const count = (s: string) => res.files.filter((f) => f.status === s).length;
    const models = new Set(res.files.filter((f) => f.model).map((f) => f.model)).size;
    const time = `(${seconds.toFixed(2)} s)`;
    if (res.diagnostics.length) {
      const internal = res.diagnostics.some((d) => d.code === "FG900");
      io.err(`flatgrad: ${res.diagnostics.length} error${res.diagnostics.length === 1 ? "" : "s"}, no file written ${time}\n`);
      return internal ? 2 : 1;
    }
    const nw = res.warnings.length;
    if (values.strict && nw) {
      io.err(`flatgrad: ${nw} warning${nw === 1 ? "" : "s"} and --strict: the build fails${mode === "write" ? ", no file written" : ""} ${time}\n`);
      return 1;
    }
    if (mode === "write") {
      // every file written (all files with --verbose), with the arena its model allocates once
      const arena = (f: CompiledFile) => (f.model ? `  (arena ${res.arena[f.model]!.toLocaleString("en-US")} bytes)` : "");
      for (const f of res.files)
        if (f.status === "orphan") io.err(`orphan: ${f.path} (its model is gone; --clean deletes it)\n`);
        else if (!values.quiet && (values.verbose || f.status === "written")) io.err(`${f.status}: ${f.path}${arena(f)}\n`);
      if (!values.quiet)
        io.err(`flatgrad: ${models} model${models === 1 ? "" : "s"}, ${count("written")} written, ${count("unchanged")} unchanged${count("deleted") ? `, ${count("deleted")} deleted` : ""}${nw ? `, ${nw} warning${nw === 1 ? "" : "s"}` : ""} ${time}\n`);
      return 0;
    }
    for (const f of res.files) if (f.status !== "unchanged" || values.verbose) io.err(`${f.status}: ${f.path}\n`);
    const drift = count("stale") + count("missing") + count("orphan");
    if (!values.quiet || drift)
      io.err(`flatgrad: ${models} model${models === 1 ? "" : "s"}, ${count("unchanged")} up to date, ${count("stale")} stale, ${count("missing")} missing, ${count("orphan")} orphan ${time}\n`);
    return mode === "check" && drift ? 1 : 0;
  };

  if (values.verify) {
    const { verifyFiles, verifyOptions } = await import("./verify.js");
    const opts = verifyOptions(values);
    if (typeof opts === "string") throw new UsageError(opts);
    const code = await once();
    if (code !== 0) return code;
    const { resolveModels } = await import("../compile.js");
    return verifyFiles(await resolveModels(models, root, outDir), root, io, opts);
  }
  if (!values.watch) return once();
  return watch(root, outDir, once, io);
}

/** Recompile on change, debounced; never watches the output folder; survives broken models. */
async function watch(root: string, outDir: string, once: () => Promise<number>, io: Io): Promise<number> {
  const { watch: chokidar } = await import("chokidar");
  const outAbs = path.resolve(root, outDir);
  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve(0);
  const watcher = chokidar(root, {
    ignoreInitial: true,
    ignored: (p: string) => {
      const abs = path.resolve(p);
      return abs === outAbs || abs.startsWith(outAbs + path.sep) || /[\\/](node_modules|\.git)([\\/]|$)/.test(abs) || /\.tmp$/.test(abs);
    },
  });
  watcher.on("all", (_event, file) => {
    if (!/\.[cm]?[tj]s$/.test(file)) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      running = running.then(() => once()).catch((e) => {
        io.err(`flatgrad: ${(e as Error).message}\n`);
        return 2;
      });
    }, 100);
  });
  // chokidar scans the tree before it reports changes: an edit made during that scan is lost,
  // so "watching" is printed only once the scan is done (under load it takes seconds).
  await new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
  await once();
  io.err("flatgrad: watching for changes (Ctrl-C to stop)\n");
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await watcher.close();
  return 0;
}

/** Why nothing matched: no folder, or files that are not named NAME.model.ts. */
function noModelHint(root: string, patterns: string[]): string {
  const lines: string[] = [];
  for (const p of patterns) {
    const dir = p.split("/").filter((part, i, all) => i < all.length - 1 && !isGlob(part)).join("/");
    const abs = path.join(root, dir);
    if (dir && !existsSync(abs)) lines.push(`  there is no ${dir}/ folder`);
    else if (dir) {
      const near = readdirSync(abs).filter((f) => /\.[cm]?[tj]s$/.test(f) && !/\.model\.[cm]?[tj]s$/.test(f) && !f.endsWith(".d.ts"));
      if (near.length) lines.push(`  ${near.slice(0, 3).map((f) => `${dir}/${f}`).join(", ")}${near.length > 3 ? ", ..." : ""}: model files are named NAME.model.ts`);
    }
  }
  lines.push("  a model file is named NAME.model.ts and default-exports defineModel({ ... }); name files on the command line");
  lines.push("  (flatgrad compile path/to/NAME.model.ts) or set models in flatgrad.config.ts");
  return lines.join("\n") + "\n";
}
