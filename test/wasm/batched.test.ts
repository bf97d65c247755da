/**
 * Batched matmuls ([..., m, k]·[..., k, n]) in the WebAssembly SIMD kernels: the generated float32 SIMD
 * step, the plain loops (`simd: false`) and the float64 interpreter agree for batch shapes with and
 * without broadcast batch axes, for the three layouts A·B, A·Bᵀ and Aᵀ·B (forward, and the backward
 * products they give), with odd m, n and k; and the batch loop folds and merges axes as it says.
 */
import { describe, expect, it } from "vitest";
import { interpret } from "../../src/interp/interp.js";
import { size } from "../../src/ir/shape.js";
import { batchLoop } from "../../src/wasm/batchLoop.js";
import { compileAndLoad, rng, scaledErr, type GeneratedModel } from "../support/helpers.js";

type Layout = "A·B" | "A·Bᵀ" | "Aᵀ·B";

/** Swap the last two axes of a shape. */
const swapped = (s: number[]) => [...s.slice(0, -2), s[s.length -1]!, s[s.length - 2]!];

/**
 * c = A·B in `layout`, A with batch axes `ba`, B with `bb` (A and B params, so that both gradients are
 * batched products too), then e = relu(c + bias) (an epilogue with a broadcast leaf) and a mean squared error.
 */
function model(layout: Layout, ba: number[], bb: number[], m: number, k: number, n: number) {
  return {
    build(g: import("../../src/dsl/builder.js").Builder) {
      const perm = (r: number) => [...Array(r).keys()].map((i) => (i < r - 2 ? i : 2 * r - 3 - i));
      const aShape = layout === "Aᵀ·B" ? [...ba, k, m] : [...ba, m, k];
      const bShape = layout === "A·Bᵀ" ? [...bb, n, k] : [...bb, k, n];
      const A = g.param("A", aShape, { init: "normal", std: 0.5 });
      const Bp = g.param("B", bShape, { init: "normal", std: 0.5 });
      const bias = g.param("bias", [n], { init: "uniform", low: -0.5, high: 0.5 });
      const a = layout === "Aᵀ·B" ? g.transpose(A, perm(aShape.length)) : A;
      const b = layout === "A·Bᵀ" ? g.transpose(Bp, perm(bShape.length)) : Bp;
      const c = g.matmul(a, b);
      g.output("c", c);
      const e = g.relu(g.add(c, bias));
      g.output("e", e);
      const y = g.input("y", [...e.shape]);
      return g.mse(e, y);
    },
    optimizer: { type: "sgd" as const, lr: 0.05 },
  };
}

// batch axes of A and B: equal, broadcast on either side (missing or of size 1), two-level, and none on one side
const batches: [number[], number[]][] = [
  [[3], [3]],
  [[2, 3], [2, 3]],
  [[2, 3], [3]],
  [[2, 1], [1, 3]],
  [[3], []],
  [[], [2]],
  [[4], [1]],
];
// odd m, n and k, and sizes that hit each block remainder (m mod 4, n mod 8 ≥ 4 or not, k mod 4)
const sizes: [number, number, number][] = [
  [5, 7, 9],
  [3, 6, 5],
  [7, 5, 12],
];

describe("batched matmuls in the WebAssembly SIMD kernels", () => {
  let c = 0;
  for (const layout of ["A·B", "A·Bᵀ", "Aᵀ·B"] as Layout[])
    for (const [ba, bb] of batches) {
      const [m, k, n] = sizes[c++ % sizes.length]!;
      it(`${layout}: A batch [${ba}], B batch [${bb}], m ${m}, k ${k}, n ${n}: SIMD, the plain loops and the float64 interpreter agree`, async () => {
        const { mod, graph, text } = await compileAndLoad(model(layout, ba, bb, m, k, n), `batched-${layout === "A·B" ? "ab" : layout === "A·Bᵀ" ? "abt" : "atb"}-${ba.join("x")}-${bb.join("x")}`);
        // the forward product and both gradients are SIMD kernels (every layout here has a contiguous k or n ≥ 4)
        const calls = new Set(text.match(/kernels\.mm_\w+\(\)/g) ?? []);
        expect(calls.size, [...calls].join(", ")).toBeGreaterThanOrEqual(3);
        const simd = mod.createModel({ seed: 7 }) as GeneratedModel & { engine: string };
        const js = mod.createModel({ seed: 7, simd: false } as { seed: number }) as GeneratedModel & { engine: string };
        expect([simd.engine, js.engine]).toEqual(["wasm-simd", "js"]);
        const rand = rng(1000 * c + 17);
        const y = Float32Array.from({ length: size(graph.inputs.get("y")!.shape) }, () => rand() * 2 - 1);
        const params = Object.fromEntries(Object.entries(simd.params).map(([p, v]) => [p, Float64Array.from(v)]));
        const ref = interpret(graph, { y: Float64Array.from(y) }, params);
        for (const mdl of [simd, js]) {
          const out = mdl.forward({ y });
          for (const o of ["c", "e"]) expect(scaledErr(out[o]!, ref.outputs[o]!), `${mdl.engine} ${o}`).toBeLessThan(2e-6);
          expect(scaledErr([mdl.lossAndGrad({ y })], [ref.loss!]), `${mdl.engine} loss`).toBeLessThan(2e-6);
          for (const p of ["A", "B", "bias"]) expect(scaledErr(mdl.grads[p]!, ref.grads[p]!), `${mdl.engine} d${p}`).toBeLessThan(2e-6);
        }
        // training: the two engines stay together step after step
        for (let s = 0; s < 3; s++) expect(Math.abs(simd.step({ y }) - js.step({ y }))).toBeLessThan(1e-5 * (1 + ref.loss!));
        for (const p of ["A", "B", "bias"]) expect(scaledErr(simd.params[p]!, js.params[p]!), p).toBeLessThan(1e-5);
      });
    }

  it("a batched product that three steps share is one function whose batch pointers start at its address parameters", async () => {
    // h_t = tanh(h_(t-1)·B_t), B_t batched like h: forward, dh and dB are each the same product on other buffers, three times
    const def = {
      build(g: import("../../src/dsl/builder.js").Builder) {
        let h = g.param("h0", [3, 5, 6], { init: "normal", std: 0.5 });
        for (let t = 1; t <= 3; t++) h = g.tanh(g.matmul(h, g.param(`B${t}`, [3, 6, 6], { init: "normal", std: 0.5 })));
        g.output("h", h);
        return g.mse(h, g.input("y", [3, 5, 6]));
      },
      optimizer: { type: "sgd" as const, lr: 0.05 },
    };
    const { mod, graph, text } = await compileAndLoad(def, "batched-shared-steps");
    // shared: called with the operands' byte addresses as arguments, and the WAT takes them as parameters
    expect(text).toMatch(/kernels\.mm_\w+\(\w+\.byteOffset/);
    expect(text).toMatch(/\(param \$a i32\)|\(param \$a i32\) \(param \$b i32\)/);
    const simd = mod.createModel({ seed: 3 }) as GeneratedModel & { engine: string };
    const js = mod.createModel({ seed: 3, simd: false } as { seed: number }) as GeneratedModel & { engine: string };
    expect([simd.engine, js.engine]).toEqual(["wasm-simd", "js"]);
    const rand = rng(99);
    const y = Float32Array.from({ length: 90 }, () => rand() * 2 - 1);
    const params = Object.fromEntries(Object.entries(simd.params).map(([p, v]) => [p, Float64Array.from(v)]));
    const ref = interpret(graph, { y: Float64Array.from(y) }, params);
    for (const mdl of [simd, js]) {
      expect(scaledErr(mdl.forward({ y }).h!, ref.outputs.h!), `${mdl.engine} h`).toBeLessThan(2e-6);
      expect(scaledErr([mdl.lossAndGrad({ y })], [ref.loss!]), `${mdl.engine} loss`).toBeLessThan(2e-6);
      for (const p of ["h0", "B1", "B2", "B3"]) expect(scaledErr(mdl.grads[p]!, ref.grads[p]!), `${mdl.engine} d${p}`).toBeLessThan(2e-6);
    }
  });

  it("folds a batch axis into m where B broadcasts and the rows run on, merges axes that step alike, and keeps the rest", () => {
    const S = (batch: number[], row: number, col = 1) => ({ batch, row, col });
    // x[8,32,64]·Wᵀ: one [256, 64] product
    expect(batchLoop([8], 32, 10, S([2048], 64), S([0], 1, 64), [S([0], 0), S([320], 10)])).toEqual({ m: 256, extents: [], a: [], b: [], c: [], leaves: [[], []] });
    // Aᵀ per batch (rows not contiguous across the batch): the loop stays
    expect(batchLoop([8], 32, 10, S([2048], 1, 32), S([0], 10), [])).toEqual({ m: 32, extents: [8], a: [2048], b: [0], c: [320], leaves: [] });
    // B batched: the loop stays; [2, 3] contiguous on both sides merge into 6
    expect(batchLoop([2, 3], 4, 5, S([72, 24], 6), S([90, 30], 5), [])).toEqual({ m: 4, extents: [6], a: [24], b: [30], c: [20], leaves: [] });
    // attention's heads: q [8, 4, 32, 16] read through a transpose of [8, 32, 64] does not merge
    expect(batchLoop([8, 4], 32, 32, S([2048, 16], 64), S([2048, 16], 1, 64), [])).toEqual({ m: 32, extents: [8, 4], a: [2048, 16], b: [2048, 16], c: [4096, 1024], leaves: [] });
    // a leaf broadcast over the rows but not the batch blocks the fold; an axis of extent 1 is no loop
    expect(batchLoop([1, 3], 4, 5, S([0, 24], 6), S([0, 0], 5), [S([0, 5], 0)])).toEqual({ m: 4, extents: [3], a: [24], b: [0], c: [20], leaves: [[5]] });
  });
});
