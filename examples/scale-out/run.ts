/**
 * The scale-out path, end to end: export the digits model to PyTorch, train it with
 * DistributedDataParallel on two processes, load the result back into the generated TypeScript
 * module, and check that both predict the same labels on the held-out digits.
 *
 *   npm run scale-out                 (two processes, 300 steps)
 *   npm run scale-out -- --steps 50 --world-size 4
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { main as flatgrad } from "../../src/cli/main.js";
import { createModel } from "../../generated/digits-mlp.js";
import { loadDigits, type Dataset } from "../data.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WORK = path.join(HERE, "out");

/** A python3 that imports torch (Debian: apt-get install python3-torch). */
function python(): string {
  for (const py of ["/usr/bin/python3", "python3"]) if (spawnSync(py, ["-c", "import torch"], { stdio: "ignore" }).status === 0) return py;
  throw new Error("no python3 with torch: install it with `apt-get install python3-torch`");
}

const asJson = (d: Dataset) => ({ rows: d.rows, inputs: { x: Array.from(d.x), y: Array.from(d.y) } });
const argmax = (a: ArrayLike<number>, from: number, n: number) => {
  let best = 0;
  for (let j = 1; j < n; j++) if (a[from + j]! > a[from + best]!) best = j;
  return best;
};

export async function main(argv = process.argv.slice(2)): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { steps: { type: "string" }, "world-size": { type: "string" } } });
  const steps = Number(values.steps ?? 300);
  const world = Number(values["world-size"] ?? 2);
  mkdirSync(WORK, { recursive: true });

  // 1. the model as a PyTorch module (export/digits-mlp.py and safetensors_io.py)
  const code = await flatgrad(["export", "--torch", "models/digits-mlp.model.ts", "--out", WORK], { out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s), isTTY: false, env: { ...process.env, INIT_CWD: path.join(HERE, "../..") } });
  if (code !== 0) return code;

  // 2. the starting point is the generated module's own initialisation, saved as a checkpoint
  const model = createModel({ seed: 0 });
  writeFileSync(path.join(WORK, "init.safetensors"), model.saveParams());
  const { train, test } = loadDigits();
  writeFileSync(path.join(WORK, "train.json"), JSON.stringify(asJson(train)));
  writeFileSync(path.join(WORK, "test.json"), JSON.stringify(asJson(test)));

  // 3. DistributedDataParallel on `world` processes
  const t0 = performance.now();
  const py = spawnSync(
    python(),
    [path.join(HERE, "train_ddp.py"), "--module", path.join(WORK, "digits-mlp.py"), "--init", path.join(WORK, "init.safetensors"), "--data", path.join(WORK, "train.json"),
      "--steps", String(steps), "--world-size", String(world), "--out", path.join(WORK, "trained.safetensors"), "--predict", path.join(WORK, "test.json"),
      "--predict-out", path.join(WORK, "predictions.json"), "--log", String(Math.max(1, Math.floor(steps / 5)))],
    { stdio: "inherit" },
  );
  if (py.status !== 0) return 1;
  console.log(`DDP: ${world} processes × batch 64, ${steps} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // 4. back into TypeScript: the trained checkpoint, the same predictions
  model.loadParams(new Uint8Array(readFileSync(path.join(WORK, "trained.safetensors"))));
  const torchProbs = (JSON.parse(readFileSync(path.join(WORK, "predictions.json"), "utf8")) as { predictions: { probs: number[] } }).predictions.probs;
  let same = 0;
  let correct = 0;
  const rows = Math.floor(test.rows / 64) * 64;
  for (let start = 0; start < rows; start += 64) {
    const { probs } = model.forward({ x: Float32Array.from(test.x.subarray(start * 64, (start + 64) * 64)) });
    for (let r = 0; r < 64; r++) {
      const ours = argmax(probs, r * 10, 10);
      if (ours === argmax(torchProbs, (start + r) * 10, 10)) same++;
      if (ours === test.labels[start + r]) correct++;
    }
  }
  console.log(`held out: ${rows} digits; the TypeScript module predicts the same label as PyTorch for ${same} (${((100 * same) / rows).toFixed(1)} %); accuracy ${((100 * correct) / rows).toFixed(1)} %`);
  return same === rows ? 0 : 1;
}
