/**
 * `flatgrad import <file.onnx> [--out <dir>] [--loss mse|softmaxCrossEntropy|bceWithLogits]`: writes
 * `<dir>/<base>.model.ts` and `<dir>/<base>.safetensors` (default dir: models/). The model file is
 * built once in memory before anything is written; on any error nothing is written.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { findRoot, formatDiagnostic, toDiagnostic } from "../compile.js";
import { buildModel } from "../front/build.js";
import { loadModelFile } from "../front/load.js";
import { IMPORT_LOSSES, importOnnx, type ImportLoss } from "../interop/onnx/import.js";
import { FlatgradError } from "../ir/shape.js";
import type { Io } from "./main.js";

export class ImportUsageError extends Error {}

export async function importCommand(args: string[], io: Io, cwd: string): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { out: { type: "string" }, loss: { type: "string" } } });
  if (positionals.length !== 1) throw new ImportUsageError("import takes one .onnx file");
  const loss = values.loss as ImportLoss | undefined;
  if (loss !== undefined && !IMPORT_LOSSES.includes(loss)) throw new ImportUsageError(`unknown --loss "${values.loss}" (${IMPORT_LOSSES.join(", ")})`);
  const file = path.resolve(cwd, positionals[0]!);
  const root = findRoot(cwd);
  const base = path.basename(file).replace(/\.onnx$/i, "");
  const outDir = path.resolve(cwd, values.out ?? "models");
  try {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new FlatgradError(`import: cannot read ${positionals[0]}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`, { file, line: 1, col: 1 }, "FG233");
    }
    const { text, weights } = importOnnx(bytes, file, { loss });
    const prettier = await import("prettier");
    const formatted = await prettier.format(text, { parser: "babel-ts", printWidth: 120 });
    // the model file must build: a failure here is the importer's bug, reported before anything is written
    const tmp = mkdtempSync(path.join(os.tmpdir(), "flatgrad-import-"));
    try {
      const probe = path.join(tmp, `${base}.model.ts`);
      writeFileSync(probe, formatted);
      const loaded = await loadModelFile(probe);
      buildModel(loaded.exported, base, loaded.file, loaded.source);
    } catch (e) {
      throw new Error(`the imported model does not build: ${(e as Error).message}`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    mkdirSync(outDir, { recursive: true });
    writeFileSync(path.join(outDir, `${base}.model.ts`), formatted);
    writeFileSync(path.join(outDir, `${base}.safetensors`), weights);
    io.err(`flatgrad: wrote ${path.relative(cwd, path.join(outDir, `${base}.model.ts`))} and ${base}.safetensors\n`);
    return 0;
  } catch (e) {
    const d = toDiagnostic(e, file, root);
    io.err(formatDiagnostic(d) + "\n");
    return d.code === "FG900" ? 2 : 1;
  }
}
