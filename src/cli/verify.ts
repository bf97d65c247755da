/**
 * `flatgrad verify [files] [--seed n] [--samples n]` (and `compile --verify`): compile each model
 * in float64, then check every param gradient of the generated module, and every tensor of every
 * `g.grad` call inside the model, against central finite differences (src/autodiff/gradcheck.ts)
 * on seeded random inputs and params. One table per model; exit 1 when any tensor fails.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createJiti } from "jiti";
import { checkGradCalls, checkParamGradients, withFixedRandomness, GRADCHECK, inputValues, seeded, type CheckRow, type CheckableModel } from "../autodiff/gradcheck.js";
import { baseName, DEFAULT_MODELS, findRoot, formatDiagnostic, resolveModels, toDiagnostic } from "../compile.js";
import { isModel } from "../dsl/define.js";
import { emitModule } from "../emit/emit.js";
import { buildModel } from "../front/build.js";
import { drawsRandom } from "../ops/index.js";
import { loadModelFile } from "../front/load.js";
import type { Site } from "../ir/shape.js";
import type { Node } from "../ir/graph.js";
import { lower } from "../lower/pipeline.js";
import { stateRoles } from "../optim/update.js";
import { runPipeline } from "../passes/pipeline.js";
import { isGlob } from "../paths.js";
import type { Io } from "./main.js";
import { loadConfig } from "./config.js";

export interface VerifyOptions {
  seed: number;
  /** Elements checked per tensor (0: every element). */
  samples: number;
}

interface Loaded extends CheckableModel {
  buffers: Record<string, Float32Array | Float64Array>;
}

/** One model: its rows (tensor, error, result, line). Throws a FlatgradError when it does not compile. */
export async function verifyModel(file: string, root: string, opts: VerifyOptions): Promise<{ rows: (CheckRow & { line: string })[]; notes: string[] }> {
  const loaded = await loadModelFile(file);
  // the check runs in float64 whatever the model's dtype: finite differences need it
  const def = isModel(loaded.exported) ? { ...loaded.exported, dtype: "float64" } : loaded.exported;
  const built = buildModel(def, baseName(file), loaded.file, loaded.source);
  const graph = runPipeline(built.graph);
  const prog = lower(graph, { optimizerState: stateRoles(built.optimizer) });
  const rel = (f: string) => path.relative(root, f).split(path.sep).join("/");
  const text = await emitModule(prog, { file: rel(loaded.file), optimizer: built.optimizer, paramInit: built.paramInit, bufferInit: built.bufferInit, debug: false, readable: false });
  const dir = mkdtempSync(path.join(os.tmpdir(), "flatgrad-verify-"));
  try {
    const tmp = path.join(dir, `${baseName(file)}.ts`);
    writeFileSync(tmp, text);
    const mod = (await createJiti(import.meta.url, { moduleCache: false, fsCache: false }).import(tmp)) as { createModel(o: { seed: number }): Loaded };
    const m = mod.createModel({ seed: opts.seed });
    const rand = seeded(opts.seed + 1);
    // a random point near the init: biases initialised to 0 would put every relu on its kink
    for (const p of Object.values(m.params)) for (let i = 0; i < p.length; i++) p[i] = p[i]! + (rand() * 2 - 1) * 0.1;
    const inputs = inputValues(built.graph.inputs, rand);
    const line = (s: Site | undefined) => (s ? `${rel(s.file)}:${s.line}` : rel(loaded.file));
    const rows: (CheckRow & { line: string })[] = [];
    const notes: string[] = [];
    // dropout draws a new mask on every training call: the check holds one mask fixed (each call on a fresh model)
    const random = prog.train.some((k) => drawsRandom(k.node.op));
    const checked = random ? withFixedRandomness(m, () => mod.createModel({ seed: opts.seed })) : m;
    if (built.graph.loss) for (const r of checkParamGradients(checked, inputs, opts.samples, rand)) rows.push({ ...r, tensor: `dL/d${r.tensor}`, line: line(built.declaredAt.get(`param:${r.tensor}`)) });
    else notes.push("no loss: no param gradient to check");
    const names = built.graph.ctx.names;
    // an unnamed y (often g.sum(u)) is written as its op of its named operand
    const label = (n: Node): string => names.get(n) ?? (n.inputs.length === 1 && names.has(n.inputs[0]!) ? `${n.op}(${names.get(n.inputs[0]!)})` : `${n.op}#${n.id}`);
    const values = { inputs, params: m.params, buffers: m.buffers };
    for (const r of checkGradCalls(built.gradCalls, (c, i) => `grad ${label(c.results[i]!)} = ∂${label(c.y)}/∂${label(c.xs[i]!)}`, values, opts.samples, rand)) rows.push({ ...r, line: line(r.site) });
    return { rows, notes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmtErr = (e: number) => (e === Infinity ? "NaN/inf" : e === 0 ? "0" : e.toExponential(1));

/** The table of one model, as the command prints it. */
export function formatTable(model: string, rows: readonly (CheckRow & { line: string })[], notes: readonly string[]): string {
  const head = ["tensor", "checked", "max rel err", "result", "line"];
  const body = rows.map((r) => [r.tensor, `${r.checked}/${r.total}`, fmtErr(r.maxRelErr), r.pass ? "pass" : "FAIL", r.line]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const fmt = (cells: string[]) => "  " + cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(w[i]!))).join("   ");
  const lines = [`${model}`, fmt(head), ...body.map(fmt)];
  for (const r of rows.filter((r) => !r.pass)) lines.push(`  FAIL ${r.tensor} at element ${r.worst.index}: analytic ${r.worst.analytic}, numeric ${r.worst.numeric} (${r.line})`);
  for (const n of notes) lines.push(`  (${n})`);
  return lines.join("\n") + "\n";
}

/** Verify model files (paths relative to `root`): 0 all pass, 1 a failure or a model error. */
export async function verifyFiles(files: readonly string[], root: string, io: Io, opts: VerifyOptions): Promise<number> {
  const e = (x: number) => x.toExponential().replace("e-", "e-").replace(/^1e/, "1e");
  io.out(
    `flatgrad verify: float64, seed ${opts.seed}, central differences h = ${e(GRADCHECK.h)}; an element passes when |analytic − numeric| ≤ ${e(GRADCHECK.abs)} + ${e(GRADCHECK.rel)}·|numeric|,\n` +
      `  i.e. rel err = |a − n| / (|n| + ${GRADCHECK.abs / GRADCHECK.rel}) ≤ ${e(GRADCHECK.rel)}; ${opts.samples ? `up to ${opts.samples} elements per tensor` : "every element"}\n\n`,
  );
  let failed = 0;
  let tensors = 0;
  for (const f of files) {
    const abs = path.resolve(root, f);
    try {
      const { rows, notes } = await verifyModel(abs, root, opts);
      io.out(formatTable(path.relative(root, abs).split(path.sep).join("/"), rows, notes) + "\n");
      tensors += rows.length;
      failed += rows.filter((r) => !r.pass).length;
    } catch (e) {
      const d = toDiagnostic(e, abs, root);
      io.err(formatDiagnostic(d) + "\n");
      if (d.code === "FG900") return 2;
      failed++;
    }
  }
  io.out(failed ? `flatgrad verify: ${failed} failure${failed === 1 ? "" : "s"} (${tensors} tensors checked in ${files.length} model${files.length === 1 ? "" : "s"})\n` : `flatgrad verify: all ${tensors} tensors pass in ${files.length} model${files.length === 1 ? "" : "s"}\n`);
  return failed ? 1 : 0;
}

/** Parse `--seed` and `--samples` (shared by `verify` and `compile --verify`). */
export function verifyOptions(values: { seed?: string; samples?: string }): VerifyOptions | string {
  const int = (s: string | undefined, dflt: number, what: string) => {
    if (s === undefined) return dflt;
    const n = Number(s);
    return Number.isInteger(n) && n >= 0 ? n : `${what} must be an integer ≥ 0, got "${s}"`;
  };
  const seed = int(values.seed, 0, "--seed");
  const samples = int(values.samples, 32, "--samples");
  if (typeof seed === "string") return seed;
  if (typeof samples === "string") return samples;
  return { seed, samples };
}

export async function verifyCommand(args: string[], io: Io, cwd: string): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { seed: { type: "string" }, samples: { type: "string" } } });
  const opts = verifyOptions(values);
  if (typeof opts === "string") {
    io.err(`flatgrad: ${opts}\n`);
    return 2;
  }
  const root = findRoot(cwd);
  const config = await loadConfig(root);
  const cwdRel = (p: string) => path.relative(root, path.resolve(cwd, p)) || ".";
  const patterns = positionals.length ? positionals.map((p) => (isGlob(p) ? path.posix.join(cwdRel(".").split(path.sep).join("/"), p) : cwdRel(p))) : (config.models ?? DEFAULT_MODELS);
  for (const p of positionals)
    if (!isGlob(p) && !existsSync(path.resolve(cwd, p))) {
      io.err(`flatgrad: ${p}: no such file (looked in ${path.resolve(cwd, p)})\n`);
      return 1;
    }
  const files = await resolveModels(patterns, root, config.outDir ?? "generated");
  if (!files.length) {
    io.err(`flatgrad: verify: no model file matches ${patterns.join(", ")} (in ${root})\n`);
    return 1;
  }
  return verifyFiles(files, root, io, opts);
}
