/**
 * Differential fuzzing: random well-typed graphs from the registry's ops (broadcasting,
 * reductions, matmuls, softmax, rank 0–3 with growth), compiled, against the interpreter on
 * outputs, loss, gradients and one SGD step, in float64; plus the whole-graph check
 * ⟨∇L, u⟩ = (L(p + hu) − L(p − hu)) / 2h for a random direction u.
 *
 * The base seed is printed. Reproduce or extend a run with
 *   npm run fuzz -- --runs 1000 --seed 20261127
 * A failure is shrunk to the smallest graph size that still fails, and the message gives the
 * one-line repro; add {seed, size} to test/fixtures/random.fixtures.json to keep it as a regression case.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { interpret } from "../../src/interp/interp.js";
import { compileAndLoad, maxRelErr, rng, ROOT } from "../support/helpers.js";
import { randomGraph, type RandomGraphOptions } from "../support/randomGraph.js";
import { indexRanges } from "../../src/lower/ranges.js";

const BASE = Number(process.env.FLATGRAD_SEED ?? 20261127);
const RUNS = Number(process.env.FLATGRAD_RUNS ?? 120);
const sizeOf = (seed: number) => 2 + (seed % 39); // 2–40 op applications
const fixtures = JSON.parse(readFileSync(path.join(ROOT, "test", "fixtures", "random.fixtures.json"), "utf8")) as { seed: number; size: number; why: string; ints?: boolean }[];

/** Compile and compare one random graph; returns the failures (empty: it agrees). */
async function check(seed: number, n: number, opts: RandomGraphOptions = {}): Promise<string[]> {
  const { mod, graph } = await compileAndLoad({ dtype: "float64", optimizer: { type: "sgd", lr: 0.05 }, build: (g) => randomGraph(g, rng(seed), n, opts) }, `random-${seed}${opts.modes ? "-modes" : ""}${opts.ints ? "-ints" : ""}`);
  const rand = rng(seed ^ 0x5eed);
  const m = mod.createModel();
  for (const p of Object.values(m.params)) for (let i = 0; i < p.length; i++) p[i] = (rand() < 0.5 ? -1 : 1) * (0.1 + rand());
  const inputs: Record<string, Float64Array> = {};
  // int32 inputs in the range their ops accept (the ignore index now and then, never the first label)
  const ranges = indexRanges(graph);
  const generatedInputs: Record<string, Float64Array | Int32Array> = {};
  for (const [name, node] of graph.inputs) {
    const r = ranges.get(name);
    const draw = (i: number): number => {
      if (!r) return rand() * 2 - 1;
      if (r.ignore !== undefined && i > 0 && rand() < 0.2) return r.ignore;
      const v = r.low + Math.floor(rand() * (r.high - r.low));
      // the first label is kept (an ignore index may be a class): every label ignored gives PyTorch's NaN loss
      return i === 0 && v === r.ignore ? (v + 1 < r.high ? v + 1 : r.low) : v;
    };
    inputs[name] = Float64Array.from({ length: node.shape.reduce((a, b) => a * b, 1) }, (_, i) => draw(i));
    generatedInputs[name] = node.dtype === "int32" ? Int32Array.from(inputs[name]!) : inputs[name]!;
  }
  const params = Object.fromEntries(Object.entries(m.params).map(([k, v]) => [k, Float64Array.from(v)]));
  // the buffers as created (running means 0, variances 1): eval mode reads them, training updates them
  const buffers = Object.fromEntries(Object.entries(m.buffers).map(([k, v]) => [k, Float64Array.from(v)]));
  const ref = interpret(graph, inputs, params, buffers);
  const failures: string[] = [];
  const close = (what: string, a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-9) => {
    const e = maxRelErr(a, b, 1e-9);
    if (!(e < tol)) failures.push(`${what}: relative error ${e}`);
  };
  close("forward", m.forward(generatedInputs).out!, ref.outputs.out!);
  if (ref.evalLoss !== undefined) close("eval loss", [m.loss(generatedInputs)], [ref.evalLoss]);
  // whole-graph check: the directional derivative along u, by central differences
  const u = Object.fromEntries(Object.entries(m.params).map(([k, v]) => [k, Float64Array.from(v, () => rand() * 2 - 1)]));
  m.lossAndGrad(generatedInputs);
  let dot = 0;
  for (const [k, gv] of Object.entries(m.grads)) for (let i = 0; i < gv.length; i++) dot += gv[i]! * u[k]![i]!;
  const h = 1e-6;
  const shift = (by: number) => {
    for (const [k, p] of Object.entries(m.params)) for (let i = 0; i < p.length; i++) p[i] = params[k]![i]! + by * u[k]![i]!;
    return m.lossAndGrad(generatedInputs);
  };
  const numeric = (shift(h) - shift(-h)) / (2 * h);
  shift(0);
  if (!(Math.abs(dot - numeric) <= 1e-6 + 1e-5 * Math.abs(numeric))) failures.push(`⟨∇L, u⟩ = ${dot} but central differences give ${numeric}`);
  // the buffers as they were before the checks above trained: step's update starts from them
  for (const [k, v] of Object.entries(buffers)) m.buffers[k]!.set(v);
  const loss = m.step(generatedInputs);
  close("loss", [loss], [ref.loss!]);
  // one running update per training call, from the params the step started from
  for (const [name, v] of Object.entries(ref.updates)) close(`update ${name}`, m.buffers[name]!, v);
  for (const [name, gv] of Object.entries(ref.grads)) {
    close(`d${name}`, m.grads[name]!, gv);
    close(`step ${name}`, m.params[name]!, params[name]!.map((v, i) => v - 0.05 * gv[i]!));
  }
  return failures;
}

/** The smallest size with the same seed that still fails. */
async function shrink(seed: number, n: number, opts: RandomGraphOptions = {}): Promise<number> {
  for (let k = 1; k < n; k++) {
    try {
      if ((await check(seed, k, opts)).length) return k;
    } catch {
      // a smaller graph that does not build is not a smaller failure
    }
  }
  return n;
}

async function expectAgrees(seed: number, n: number, opts: RandomGraphOptions = {}): Promise<void> {
  const failures = await check(seed, n, opts);
  if (failures.length) {
    const k = await shrink(seed, n, opts);
    expect.fail(`graph seed ${seed}, size ${n}${opts.grad ? " (with g.grad)" : ""}: ${failures.join("; ")}\nshrunk to size ${k}: FLATGRAD_SEED=${seed} FLATGRAD_SIZE=${k}${opts.grad ? " FLATGRAD_GRAD=1" : ""} — add { "seed": ${seed}, "size": ${k} } to test/fixtures/random.fixtures.json`);
  }
}

describe("random graphs: regression fixtures", () => {
  for (const f of fixtures) it(`seed ${f.seed}, size ${f.size}: ${f.why}`, () => expectAgrees(f.seed, f.size, { ints: f.ints ?? false }));
});

// one graph in four with a g.grad inside the loss (second order); FLATGRAD_GRAD=1 makes it every graph
const GRAD_EVERY = process.env.FLATGRAD_GRAD === "1" ? 1 : 4;

describe(`random graphs (FLATGRAD_SEED=${BASE}, ${RUNS} runs)`, () => {
  const only = process.env.FLATGRAD_SIZE ? Number(process.env.FLATGRAD_SIZE) : undefined;
  for (let k = 0; k < RUNS; k++) {
    const seed = BASE + k;
    const grad = k % GRAD_EVERY === GRAD_EVERY - 1;
    it(`graph seed ${seed}${grad ? " with g.grad in the loss" : ""}`, () => expectAgrees(seed, only ?? sizeOf(seed), { grad }));
  }
});

describe(`random graphs with int32 labels and ids (FLATGRAD_SEED=${BASE}, ${Math.ceil(RUNS / 5)} runs)`, () => {
  const only = process.env.FLATGRAD_SIZE ? Number(process.env.FLATGRAD_SIZE) : undefined;
  for (let k = 0; k < Math.ceil(RUNS / 5); k++) {
    const seed = BASE + k;
    it(`graph seed ${seed} (ints)`, () => expectAgrees(seed, only ?? sizeOf(seed), { ints: true }));
  }
});

// batch norm in the mix: forward and the eval loss read the running statistics, training the batch's, and
// every training call updates the buffers (checked against the interpreter's update from the same params)
describe(`random graphs with batchNorm (FLATGRAD_SEED=${BASE}, ${Math.ceil(RUNS / 8)} runs)`, () => {
  for (let k = 0; k < Math.ceil(RUNS / 8); k++) {
    const seed = BASE + 7919 + k;
    it(`graph seed ${seed}`, () => expectAgrees(seed, sizeOf(seed), { modes: true }));
  }
});
