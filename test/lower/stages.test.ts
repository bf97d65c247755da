/**
 * The lowering stages on small graphs, each stage's data printed (src/lower/print.ts): fusion,
 * buffers, schedules and the memory plan. A regression in one stage fails the test named after it,
 * not only the golden files.
 */
import { describe, expect, it } from "vitest";
import { defineModel, type ModelDefinition } from "../../src/dsl/define.js";
import { buildModel } from "../../src/front/build.js";
import { runPipeline } from "../../src/passes/pipeline.js";
import { runStages, stages } from "../../src/lower/pipeline.js";
import { printBuffers, printFusion, printMemory, printSchedule } from "../../src/lower/print.js";
import { planMemory } from "../../src/lower/memory.js";
import type { Buffer, Kernel } from "../../src/lower/program.js";
import { tempProject } from "../support/helpers.js";

const lowered = (def: ModelDefinition, optimizerState: string[] = []) => runStages(runPipeline(buildModel(defineModel(def), "t").graph), { optimizerState });

/** x → linear → relu → linear → mse: the tutorial's two layers. */
const twoLayers: ModelDefinition = {
  dtype: "float64",
  build(g) {
    const x = g.input("x", [4, 3]);
    const y = g.input("y", [4, 2]);
    const W1 = g.param("W1", [5, 3]);
    const b1 = g.param("b1", [5]);
    const W2 = g.param("W2", [2, 5]);
    const a1 = g.relu(g.linear(x, W1, b1));
    const yhat = g.linear(a1, W2);
    g.output("yhat", yhat);
    return g.mse(yhat, y);
  },
};

describe("lowering stages", () => {
  it("are listed in one order: fusion, storage, kernels, schedule, memory", () => {
    expect(stages.map((s) => s.name)).toEqual(["fusion", "storage", "kernels", "schedule", "arenaBytes"]);
  });

  it("fuse: bias and relu are the epilogue of x·W1ᵀ; the relu mask of backward is the epilogue of dz2·W2", () => {
    const text = printFusion(lowered(twoLayers));
    // forward: a1 = relu(x·W1ᵀ + b1) stored by the matmul
    expect(text).toMatch(/^epilogue %\d+ relu\[4,5\] stored by %\d+ matmul\[4,5\]$/m);
    // the bias add is folded into the relu's expression, not a buffer of its own
    expect(text).toMatch(/^inline %\d+ add\[4,5\] into %\d+ relu\[4,5\]$/m);
    // backward: da1 ⊙ relu'(a1) stored by the product that makes da1
    expect(text).toMatch(/^epilogue %\d+ mul\[4,5\] stored by %\d+ matmul\[4,5\]$/m);
  });

  it("fuse: a product that is also an output is not fused (its value must exist)", () => {
    const text = printFusion(
      lowered({
        dtype: "float64",
        build(g) {
          const z = g.matmul(g.input("x", [4, 3]), g.param("W", [3, 5]));
          g.output("z", z);
          return g.sum(g.relu(z));
        },
      }),
    );
    expect(text).not.toMatch(/stored by %\d+ matmul/);
  });

  it("allocate: params, gradients, optimizer state, then temporaries, with their roles and dtypes", () => {
    const l = runStages(runPipeline(buildModel(defineModel({ ...twoLayers, optimizer: { type: "adam", lr: 1e-3 } }), "t").graph), { optimizerState: ["exp_avg", "exp_avg_sq"] }, "storage");
    const text = printBuffers(l);
    expect(text.split("\n").slice(0, 6)).toEqual([
      "param     W1 float64×15",
      "param     b1 float64×5",
      "param     W2 float64×10",
      "grad      dW1 float64×15",
      "grad      db1 float64×5",
      "grad      dW2 float64×10",
    ]);
    expect(text).toContain("optimizer exp_avg_W1 float64×15");
    expect(text).toContain("optimizer exp_avg_sq_W2 float64×10");
    expect(text).toContain("optimizer optimizer_step float64×1");
    // only the stages up to storage ran
    expect(l.schedule).toBeUndefined();
  });

  it("schedule: forward runs only what the outputs need; training adds the backward kernels after the loss", () => {
    const text = printSchedule(lowered(twoLayers));
    const [fwd, train] = text.split("train:\n") as [string, string];
    expect(fwd.trim().split("\n").slice(1)).toEqual([
      expect.stringMatching(/^ {2}fwd a1 = relu\(x·W1ᵀ \+ b1\)   reads W1 b1 x$/),
      expect.stringMatching(/^ {2}fwd yhat = a1·W2ᵀ   reads W2 a1$/),
    ]);
    const kinds = train.trim().split("\n").map((l) => l.trim().slice(0, 3));
    // forward kernels first, then the chain rule; never a forward kernel after a backward one
    expect(kinds.indexOf("bwd")).toBeGreaterThan(0);
    expect(kinds.slice(kinds.indexOf("bwd")).every((k) => k === "bwd")).toBe(true);
    expect(train).toMatch(/bwd dW1 = /);
    expect(train).toMatch(/bwd dW2 = /);
  });

  it("memory: persistent buffers first, temporaries reuse memory whose lifetime ended, arena is one number", () => {
    const l = lowered(twoLayers, ["momentum_buffer"]);
    const text = printMemory(l);
    expect(text.split("\n")[0]).toBe("[0, 120) W1 (param)");
    const placed = l.storage.buffers.filter((b) => b.offset >= 0);
    const persistent = placed.filter((b) => b.role !== "temp");
    const temps = placed.filter((b) => b.role === "temp");
    const bytes = (b: { size: number }) => b.size * 8;
    const endOfPersistent = Math.max(...persistent.map((b) => b.offset + bytes(b)));
    // packed one after another, each on a 16-byte boundary
    const byOffset = [...persistent].sort((a, b) => a.offset - b.offset);
    byOffset.forEach((b, i) => expect(b.offset, b.name).toBe(i ? Math.ceil((byOffset[i - 1]!.offset + bytes(byOffset[i - 1]!)) / 16) * 16 : 0));
    expect(placed.every((b) => b.offset % 16 === 0)).toBe(true);
    expect(temps.every((b) => b.offset >= endOfPersistent)).toBe(true);
    // the optimizer state is in the arena, so its size is the module's whole arena
    expect(placed.filter((b) => b.role === "optimizer").map((b) => b.name)).toEqual(["momentum_buffer_W1", "momentum_buffer_b1", "momentum_buffer_W2", "optimizer_step"]);
    expect(l.arenaBytes).toBe(Math.max(...placed.map((b) => b.offset + bytes(b))));
    // some temporaries share memory (yhat's forward value and the backward's gradients do not all live at once)
    const total = temps.reduce((n, b) => n + bytes(b), 0);
    expect(l.arenaBytes - endOfPersistent).toBeLessThan(total);
  });
});

describe("names", () => {
  it("values a statement makes without naming them are named after its variable: dh2_add, not dadd7", async () => {
    const { compileModelFile } = await import("../../src/compile.js");
    const dir = tempProject("flatgrad-names-", {
      "spiral.model.ts": [
        'import { defineModel } from "flatgrad";',
        "export default defineModel({",
        "  build(g) {",
        '    const x = g.input("x", [8, 2]);',
        '    const h1 = g.tanh(g.linear(x, g.param("W1", [16, 2]), g.param("b1", [16])));',
        '    const h2 = g.tanh(g.linear(h1, g.param("W2", [16, 16]), g.param("b2", [16])));',
        '    return g.mean(g.square(g.linear(h2, g.param("W3", [1, 16]))));',
        "  },",
        "});",
        "",
      ].join("\n"),
    });
    const text = await compileModelFile(`${dir}/spiral.model.ts`, dir);
    const kernels = [...text.matchAll(/^ {4}\/\/ (\w+) = /gm)].map((m) => m[1]!);
    expect(kernels).toEqual(expect.arrayContaining(["h1", "h2", "dh2", "dW2", "db2", "dh1", "dW1", "db1"]));
    expect(text).toMatch(/\/\/ dh2 = [^\n]*;  dh2_add = dh2 ⊙ \(1 − h2²\)/);
    // no buffer is named after an op and a line number when a statement named the value
    expect(kernels.filter((k) => /^d?(add|mul|sub)\d+$/.test(k))).toEqual([]);
  });
});

describe("memory plan", () => {
  const buf = (name: string, size: number, role: Buffer["role"] = "temp"): Buffer => ({ name, size, dtype: "float32", offset: -1, role });
  const kernel = (out: string, ...reads: string[]) => ({ out, reads: new Set(reads) }) as Kernel;

  it("a buffer whose last reader ran is reused by the next one that fits (best fit), and live buffers never overlap", () => {
    const bs = [buf("W", 4, "param"), buf("a", 8), buf("b", 8), buf("c", 4), buf("d", 8)];
    // a → b → c (a dead after b) → d (b dead after c)
    const size = planMemory(bs, [{ kernels: [kernel("a", "W"), kernel("b", "a"), kernel("c", "b"), kernel("d", "c")], returns: ["d"] }]);
    const at = Object.fromEntries(bs.map((b) => [b.name, b.offset]));
    // c takes the best-fitting part of a's block; d (which reads c) starts where c ends, in b's freed block (bytes, float32)
    expect(at).toEqual({ W: 0, a: 16, b: 48, c: 16, d: 32 });
    expect(size).toBe(80);
  });

  it("an allocator that never reused memory would need the sum of all temporaries", () => {
    const bs = ["t0", "t1", "t2", "t3", "t4", "t5"].map((n) => buf(n, 10));
    const chain = bs.map((b, i) => kernel(b.name, ...(i ? [bs[i - 1]!.name] : [])));
    const size = planMemory(bs, [{ kernels: chain, returns: ["t5"] }]);
    // a chain needs two live buffers at a time: 2 × 10 float32, the second on a 16-byte boundary (40 → 48)
    expect(size).toBe(88);
  });

  it("what an entry point returns lives to the end of that entry point", () => {
    const bs = [buf("out", 4), buf("t", 4), buf("u", 4)];
    const size = planMemory(bs, [{ kernels: [kernel("out"), kernel("t", "out"), kernel("u", "t")], returns: ["out"] }]);
    expect(new Set(bs.map((b) => b.offset)).size).toBe(3);
    expect(size).toBe(48);
  });

  it("every buffer starts on a 16-byte boundary: a typed view per dtype reaches it, and SIMD rows start aligned", () => {
    const bs = [buf("odd", 3), { ...buf("wide", 2), dtype: "float64" as const }, buf("n", 1)];
    const size = planMemory(bs, [{ kernels: [kernel("odd"), kernel("wide", "odd"), kernel("n", "wide", "odd")], returns: ["n"] }]);
    const at = Object.fromEntries(bs.map((b) => [b.name, b.offset]));
    // odd ends at byte 12; wide (float64) starts at 16, n (float32) at 32
    expect(at).toEqual({ odd: 0, wide: 16, n: 32 });
    expect(size).toBe(36);
  });

  it("a buffer of a kilobyte or more starts on a cache line (64 bytes), a smaller one on 16: SIMD blocks of 8 floats stay in one line", () => {
    const bs = [buf("odd", 3, "param"), buf("rows", 256, "param"), buf("small", 5, "param"), buf("big", 300), buf("t", 4)];
    const size = planMemory(bs, [{ kernels: [kernel("big", "odd"), kernel("t", "big", "rows", "small")], returns: ["t"] }]);
    const at = Object.fromEntries(bs.map((b) => [b.name, b.offset]));
    // odd ends at byte 12: rows (1024 bytes) at 64, not 16; small (20 bytes) right after it at 1088; big (1200 bytes) at the next line
    expect(at).toEqual({ odd: 0, rows: 64, small: 1088, big: 1152, t: 2352 });
    expect(size).toBe(2368);
  });
});
