/**
 * `flatgrad export --torch <model files...> [--out <dir>]`: each model as a PyTorch module,
 * `<dir>/<base>.py`, plus `safetensors_io.py` (reading and writing flatgrad checkpoints without the
 * `safetensors` package).
 * `flatgrad export --onnx <model file> [--params <file.safetensors>] [--out <dir>]`: its inference
 * graph as `<dir>/<base>.onnx`. Everything is exported in memory first: on any error nothing is written.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { baseName, findRoot, formatDiagnostic, toDiagnostic } from "../compile.js";
import { buildModel } from "../front/build.js";
import { loadModelFile } from "../front/load.js";
import { exportTorch } from "../interop/torch.js";
import { exportOnnx } from "../interop/onnx/export.js";
import { readSafetensors } from "../interop/safetensors.js";
import { initialState } from "../interop/state.js";
import { FlatgradError } from "../ir/shape.js";
import type { Io } from "./main.js";

/** A --params checkpoint's tensors by name; an unreadable file is an error in the file (FG232). */
function paramsFile(file: string): Record<string, Float32Array | Float64Array> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new FlatgradError(`export --onnx: cannot read --params ${file}: ${(e as Error).message}`, { file, line: 1, col: 1 }, "FG232");
  }
  try {
    return Object.fromEntries(Object.entries(readSafetensors(bytes, "--params")).map(([k, t]) => [k, t.data]));
  } catch (e) {
    throw new FlatgradError(`export --onnx: ${(e as Error).message}`, { file, line: 1, col: 1 }, "FG232");
  }
}

const SAFETENSORS_IO = new URL("../../templates/safetensors_io.py", import.meta.url);

export class ExportUsageError extends Error {}

export async function exportCommand(args: string[], io: Io, cwd: string): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { torch: { type: "boolean" }, onnx: { type: "boolean" }, out: { type: "string" }, params: { type: "string" } } });
  if (values.onnx && values.torch) throw new ExportUsageError("export takes one target: --torch or --onnx");
  if (!values.torch && !values.onnx) throw new ExportUsageError("export needs a target: --torch or --onnx");
  if (values.torch && values.params !== undefined) throw new ExportUsageError("--params goes with --onnx");
  if (!positionals.length) throw new ExportUsageError(`export ${values.torch ? "--torch takes one or more model files" : "--onnx takes one model file"}`);
  if (values.onnx && positionals.length > 1) throw new ExportUsageError("export --onnx takes one model file");
  const root = findRoot(cwd);
  const outDir = path.resolve(cwd, values.out ?? "export");
  const files: [string, string | Uint8Array][] = [];
  let failed = false;
  for (const p of positionals) {
    const file = path.resolve(cwd, p);
    if (!existsSync(file)) {
      io.err(`flatgrad: ${p}: no such file (looked in ${file})\n`);
      failed = true;
      continue;
    }
    try {
      const loaded = await loadModelFile(file);
      const built = buildModel(loaded.exported, baseName(file), loaded.file, loaded.source);
      const rel = path.relative(root, loaded.file).split(path.sep).join("/");
      if (values.torch) files.push([path.join(outDir, `${baseName(file)}.py`), exportTorch(built, rel).text]);
      else {
        const state = values.params !== undefined ? paramsFile(path.resolve(cwd, values.params)) : await initialState(loaded.exported, baseName(file));
        files.push([path.join(outDir, `${baseName(file)}.onnx`), exportOnnx(built, state)]);
      }
    } catch (e) {
      const d = toDiagnostic(e, file, root);
      io.err(formatDiagnostic(d) + "\n");
      if (d.code === "FG900") return 2;
      failed = true;
    }
  }
  const names = files.map(([f]) => f);
  const dup = names.find((f, i) => names.indexOf(f) !== i);
  if (dup) throw new ExportUsageError(`two model files export to ${path.relative(cwd, dup)}: give them different names`);
  if (failed) {
    io.err(`flatgrad: export failed, nothing written\n`);
    return 1;
  }
  mkdirSync(outDir, { recursive: true });
  for (const [f, text] of files) writeFileSync(f, text);
  if (values.torch) writeFileSync(path.join(outDir, "safetensors_io.py"), readFileSync(SAFETENSORS_IO));
  for (const [f] of files) io.err(`flatgrad: wrote ${path.relative(cwd, f)}\n`);
  return 0;
}
