/**
 * The scale-out path, end to end: export a digits model to PyTorch, train it with
 * DistributedDataParallel on two processes, load the result back into the generated TypeScript
 * module, and check that both predict the same labels on the held-out digits.
 *
 *   npm run scale-out                                 (the CNN, two processes, 300 steps)
 *   npm run scale-out -- --steps 50 --world-size 4 --model models/digits-mlp.model.ts
 *
 * The model's inputs are filled from the digits by role: an int32 input takes the class labels, an
 * input named `x` the pixels (the same flat rows whether it is [64, 64] or [64, 1, 8, 8]), another
 * float input the one-hot targets. Its first output is read as class scores (argmax).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { main as flatgrad } from "../../src/cli/main.js";
import { baseName, compile, formatDiagnostic } from "../../src/compile.js";
import { loadDigits, type Dataset } from "../data.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.join(HERE, "../..");
const WORK = path.join(HERE, "out");

interface Module {
  spec: { inputs: Record<string, number[]>; inputDtypes: Record<string, string>; outputs: Record<string, number[]> };
  createModel(o?: { seed?: number }): {
    saveParams(): Uint8Array;
    loadParams(b: Uint8Array): void;
    forward(i: Record<string, Float32Array | Int32Array>): Record<string, ArrayLike<number>>;
  };
}

/** A python3 that imports torch (Debian: apt-get install python3-torch). */
function python(): string {
  for (const py of ["/usr/bin/python3", "python3"]) if (spawnSync(py, ["-c", "import torch"], { stdio: "ignore" }).status === 0) return py;
  throw new Error("no python3 with torch: install it with `apt-get install python3-torch`");
}

/** The rows of each input of the model, from the digits, by role (see above). */
const inputsOf = (spec: Module["spec"], d: Dataset): Record<string, number[]> =>
  Object.fromEntries(Object.keys(spec.inputs).map((k) => [k, Array.from(spec.inputDtypes[k] === "int32" ? d.labels : k === "x" ? d.x : d.y)]));
const argmax = (a: ArrayLike<number>, from: number, n: number) => {
  let best = 0;
  for (let j = 1; j < n; j++) if (a[from + j]! > a[from + best]!) best = j;
  return best;
};

export async function main(argv = process.argv.slice(2)): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { steps: { type: "string" }, "world-size": { type: "string" }, model: { type: "string" } } });
  const steps = Number(values.steps ?? 300);
  const world = Number(values["world-size"] ?? 2);
  const modelFile = values.model ?? "examples/models/digits-cnn.model.ts";
  const base = baseName(modelFile);
  mkdirSync(WORK, { recursive: true });

  // 1. the generated module (compiled here, as the demo does) and the model as a PyTorch module
  const built = await compile({ models: [modelFile], outDir: path.relative(ROOT, path.join(WORK, "generated")), root: ROOT });
  if (built.diagnostics.length) throw new Error(built.diagnostics.map(formatDiagnostic).join("\n"));
  const mod = (await import(pathToFileURL(path.resolve(ROOT, built.files[0]!.path)).href)) as Module;
  const io = { out: (s: string) => void process.stdout.write(s), err: (s: string) => void process.stderr.write(s), isTTY: false, env: { ...process.env, INIT_CWD: ROOT } };
  const code = await flatgrad(["export", "--torch", modelFile, "--out", WORK], io);
  if (code !== 0) return code;

  // 2. the starting point is the generated module's own initialisation, saved as a checkpoint
  const model = mod.createModel({ seed: 0 });
  writeFileSync(path.join(WORK, "init.safetensors"), model.saveParams());
  const { train, test } = loadDigits();
  writeFileSync(path.join(WORK, "train.json"), JSON.stringify({ rows: train.rows, inputs: inputsOf(mod.spec, train) }));
  writeFileSync(path.join(WORK, "test.json"), JSON.stringify({ rows: test.rows, inputs: inputsOf(mod.spec, test) }));

  // 3. DistributedDataParallel on `world` processes
  const batch = Object.values(mod.spec.inputs)[0]![0]!;
  const t0 = performance.now();
  const py = spawnSync(
    python(),
    [path.join(HERE, "train_ddp.py"), "--module", path.join(WORK, `${base}.py`), "--init", path.join(WORK, "init.safetensors"), "--data", path.join(WORK, "train.json"),
      "--steps", String(steps), "--world-size", String(world), "--out", path.join(WORK, "trained.safetensors"), "--predict", path.join(WORK, "test.json"),
      "--predict-out", path.join(WORK, "predictions.json"), "--log", String(Math.max(1, Math.floor(steps / 5)))],
    { stdio: "inherit" },
  );
  if (py.status !== 0) return 1;
  console.log(`DDP: ${base}, ${world} processes × batch ${batch}, ${steps} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // 4. back into TypeScript: the trained checkpoint, the same predictions (eval mode on both sides)
  model.loadParams(new Uint8Array(readFileSync(path.join(WORK, "trained.safetensors"))));
  const [out, shape] = Object.entries(mod.spec.outputs)[0]!;
  const classes = shape[shape.length - 1]!;
  const torchScores = (JSON.parse(readFileSync(path.join(WORK, "predictions.json"), "utf8")) as { predictions: Record<string, number[]> }).predictions[out]!;
  const rows = Math.floor(test.rows / batch) * batch;
  const width = test.features;
  let same = 0;
  let correct = 0;
  for (let start = 0; start < rows; start += batch) {
    const scores = model.forward({ x: Float32Array.from(test.x.subarray(start * width, (start + batch) * width)) })[out]!;
    for (let r = 0; r < batch; r++) {
      const ours = argmax(scores, r * classes, classes);
      if (ours === argmax(torchScores, (start + r) * classes, classes)) same++;
      if (ours === test.labels[start + r]) correct++;
    }
  }
  console.log(`held out: ${rows} digits; the TypeScript module predicts the same label as PyTorch for ${same} (${((100 * same) / rows).toFixed(1)} %); accuracy ${((100 * correct) / rows).toFixed(1)} %`);
  return same === rows ? 0 : 1;
}
