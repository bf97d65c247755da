#!/usr/bin/env node
// `node bench/matmulTimes.mjs MODULE.ts [name filter]`: each WebAssembly matmul of a generated module's
// training step, alone: after two steps on seeded random data (so the arena holds real values and every
// function has been called with its real arguments), each call of the step is repeated in a loop on the
// same arena; prints per call its shape and layout (from the function's text), the best of 7 runs of
// 300 calls, and GFLOP/s (2·m·n·k per batch). The sum is the step's matmul time with warm caches.
// Times are the process's CPU time (time descheduled on a shared machine does not count); still,
// compare the minimums of interleaved runs, never one run.
import { createJiti } from "jiti";
import path from "node:path";
import { readFileSync } from "node:fs";

const file = path.resolve(process.argv[2]);
const only = process.argv[3];
const text = readFileSync(file, "utf8");
// per function: its product's shape from the comment the kernel starts with
const shape = {};
const re = /\(func \$(\w+)[\s\S]*?;; C\[(\d+)×(\d+)\] = A·B, k = (\d+)(?:, for each of \[([\d×]+)\] batch)?[^\n]*?: f32x4 along (k|the columns of C)/g;
for (const [, fn, m, n, k, batch, mode] of text.matchAll(re)) {
  const b = batch ? batch.split("×").reduce((x, y) => x * +y, 1) : 1;
  shape[fn] = { flops: 2 * m * n * k * b, what: `${m}×${n}, k ${k}${batch ? `, batch ${batch}` : ""}, ${mode === "k" ? "along k" : "along j"}` };
}
// record each exported function's calls (name and arguments) as the module makes them
const calls = new Map();
const Instance = WebAssembly.Instance;
WebAssembly.Instance = function (module, imports) {
  const inst = new Instance(module, imports);
  const exports = {};
  for (const [name, v] of Object.entries(inst.exports))
    exports[name] =
      typeof v !== "function"
        ? v
        : (...args) => {
            const key = `${name}(${args.join(",")})`;
            if (!calls.has(key)) calls.set(key, { f: v, name, args, count: 0 });
            calls.get(key).count++;
            return v(...args);
          };
  return { exports };
};
const jiti = createJiti(import.meta.url);
const mod = await jiti.import(file);
const model = mod.createModel({ seed: 0 });
let s = 1;
const rand = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
const inputs = {};
for (const [name, dims] of Object.entries(mod.spec.inputs)) {
  const n = dims.reduce((a, b) => a * b, 1);
  inputs[name] = mod.spec.inputDtypes[name] === "int32" ? Int32Array.from({ length: n }, () => Math.floor(rand() * 10)) : Float32Array.from({ length: n }, () => rand());
}
model.step(inputs);
for (const c of calls.values()) c.count = 0;
model.step(inputs);
let total = 0;
let flops = 0;
for (const { f, name, args, count } of calls.values()) {
  if (!count || !shape[name] || (only && !name.includes(only))) continue;
  for (let i = 0; i < 200; i++) f(...args);
  let best = Infinity;
  for (let r = 0; r < 7; r++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < 300; i++) f(...args);
    const { user, system } = process.cpuUsage(t0);
    best = Math.min(best, (user + system) / 1000 / 300);
  }
  total += best * count;
  flops += shape[name].flops * count;
  console.log(`${name.padEnd(24)} ×${count}  ${shape[name].what.padEnd(34)} ${(best * 1000).toFixed(1).padStart(7)} µs ${(shape[name].flops / best / 1e6).toFixed(1).padStart(6)} GFLOP/s`);
}
console.log(`per step: ${total.toFixed(3)} ms, ${(flops / 1e6).toFixed(1)} MFLOP, ${(flops / total / 1e6).toFixed(1)} GFLOP/s`);
