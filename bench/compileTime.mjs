#!/usr/bin/env node
// `node bench/compileTime.mjs`: how long an unrolled recurrence takes to compile (model → module text,
// in memory), and how large its module is, at 2, 8 and 32 steps (bench/recurrence.ts: LSTM and GRU,
// float32, batch 8, 8 inputs, hidden 16), then the examples' LSTM and transformer. The tests assert
// sizes only (no timed assertions): this is where the time is measured. Each figure is the best of 3,
// wall clock and the process's CPU time (on a loaded machine the CPU time is the steadier one).
import { createJiti } from "jiti";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const jiti = createJiti(import.meta.url);
const { compileDefinition } = await jiti.import("../src/compile.ts");
const { defineModel } = await jiti.import("../src/index.ts");
const { recurrence } = await jiti.import("./recurrence.ts");
const { loadModelFile } = await jiti.import("../src/front/load.ts");

async function time(label, def, name) {
  let best = Infinity;
  let cpu = Infinity;
  let bytes = 0;
  for (let r = 0; r < 3; r++) {
    const [t0, c0] = [performance.now(), process.cpuUsage()];
    const { text } = await compileDefinition(def, name);
    const c = process.cpuUsage(c0);
    best = Math.min(best, performance.now() - t0);
    cpu = Math.min(cpu, (c.user + c.system) / 1000);
    bytes = Buffer.byteLength(text);
  }
  console.log(`${label.padEnd(36)} ${(best / 1000).toFixed(2).padStart(6)} s  (CPU ${(cpu / 1000).toFixed(2)} s)  ${String(bytes).padStart(8)} bytes`);
}

for (const cell of ["lstm", "gru"]) for (const T of [2, 8, 32]) await time(`${cell}, ${T} steps`, defineModel(recurrence(cell, T, "float32")), `${cell}${T}`);
for (const f of ["digits-lstm", "sort-transformer"]) {
  const def = (await loadModelFile(path.join(root, "examples", "models", `${f}.model.ts`))).exported;
  await time(`examples/models/${f}`, def, f);
}
