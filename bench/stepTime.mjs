#!/usr/bin/env node
// `node bench/stepTime.mjs MODULE.ts [--flag]`: the median time of one training step (`step`) of a
// generated module whose inputs are an `x` of floats and a `y` of int32 labels (the LSTM example's),
// over 40 steps after 10 of warm-up, on seeded random data. --flag raises V8's limit on the bytecode
// size of a function it optimizes (--max-optimized-bytecode-size), the stopgap that kernel sharing removes.
import { setFlagsFromString } from "node:v8";
import { createJiti } from "jiti";
import path from "node:path";

if (process.argv.includes("--flag")) setFlagsFromString("--max-optimized-bytecode-size=16777216");
const jiti = createJiti(import.meta.url);
const mod = await jiti.import(path.resolve(process.argv[2]));
const m = mod.createModel({ seed: 0 });
let s = 1;
const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
const inputs = {};
for (const [name, shape] of Object.entries(mod.spec.inputs)) {
  const n = shape.reduce((a, b) => a * b, 1);
  inputs[name] = mod.spec.inputDtypes[name] === "int32" ? Int32Array.from({ length: n }, () => Math.floor(rand() * 10)) : Float32Array.from({ length: n }, () => rand());
}
const times = [];
for (let i = 0; i < 50; i++) {
  const t0 = performance.now();
  m.step(inputs);
  if (i >= 10) times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
console.log(`${path.basename(process.argv[2])}${process.argv.includes("--flag") ? " (--max-optimized-bytecode-size)" : ""}: ${times[20].toFixed(2)} ms per step (median of 40), engine ${m.engine}`);
