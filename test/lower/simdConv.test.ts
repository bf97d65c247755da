/**
 * The WebAssembly SIMD convolution kernels (src/wasm/conv.ts): forward Z = X ⋆ W + b (with the bias
 * and relu in its lanes), dX = conv_transpose(dZ, W) and dW = dZ ⋆ X give the values of the plain
 * loops (`simd: false`) and of the float64 interpreter, over every remainder of the 4-channel and
 * 8/4-column blocks (the masked last vector of a row), groups, dilations, row strides and 1-D; a
 * column stride of 2 or rows narrower than 4 run the loops; the text in the generated file
 * assembles to the bytes the module runs.
 */
import { describe, expect, it } from "vitest";
import wabtInit from "wabt";
import path from "node:path";
import { analyse, explainText } from "../../src/explain/explain.js";
import { interpret } from "../../src/interp/interp.js";
import type { Builder } from "../../src/dsl/builder.js";
import type { ConvOptions } from "../../src/ops/conv2d.js";
import { compileAndLoad, kernelsOf, ROOT, rng, scaledErr, type GeneratedModel } from "../support/helpers.js";

interface Case {
  x: number[];
  W: number[];
  options: ConvOptions;
  /** Whether the kernels run as SIMD (column stride 1, rows of at least 4). */
  simd: boolean;
}
const cases: Case[] = [
  { x: [2, 3, 9, 10], W: [5, 3, 3, 3], options: {}, simd: true }, // OW 8: one 8-column block; 4 + 1 channels
  { x: [1, 4, 8, 13], W: [6, 2, 3, 2], options: { groups: 2, dilation: [1, 2], padding: 1 }, simd: true }, // OW 13: 8, 4, masked 1
  { x: [2, 1, 12, 12], W: [8, 1, 5, 5], options: {}, simd: true }, // one input channel, as LeNet's first layer
  { x: [1, 3, 7, 11], W: [4, 3, 2, 3], options: { stride: [2, 1] }, simd: true }, // OW 9: 8, masked 1; row stride 2
  { x: [2, 3, 20], W: [7, 3, 4], options: { dilation: 2, padding: "same" }, simd: true }, // conv1d, OW 20
  { x: [1, 2, 5, 7], W: [2, 1, 1, 3], options: { groups: 2 }, simd: true }, // OW 5: 4, masked 1; 1 channel per group
  { x: [3, 1, 22, 22], W: [5, 1, 3, 3], options: {}, simd: true }, // OH·OW 400: dW sums chunks of 2 samples, then the 1 left
  { x: [1, 1, 3, 6], W: [1, 1, 1, 3], options: {}, simd: true }, // dW has 3 elements (zeroed one float at a time); OW 4
  { x: [2, 2, 12, 13], W: [3, 2, 9, 9], options: {}, simd: true }, // a 9×9 kernel: 9 columns per row (4 pairs and 1 in dW), OW 5
  { x: [1, 3, 8, 9], W: [6, 3, 3, 5], options: { dilation: [2, 1] }, simd: true }, // a row dilation of 2 (the only case where dh is not 1: a kernel that ignores it fails here alone)
  { x: [2, 3, 16], W: [9, 3, 3], options: { stride: 2 }, simd: false }, // column stride 2: the loops
  { x: [1, 2, 6, 5], W: [3, 2, 3, 3], options: {}, simd: false }, // OW 3: the loops
];

const net = (c: Case) => ({
  dtype: "float32" as const,
  optimizer: { type: "sgd" as const, lr: 0.01 },
  build(g: Builder) {
    // x is a param so that dX = conv_transpose(dZ, W) is computed (its gradient)
    const x = g.param("x", c.x, { init: "normal", std: 1 });
    const W = g.param("W", c.W, { init: "normal", std: 0.5 });
    const b = g.param("b", [c.W[0]!], { init: "uniform", low: -0.5, high: 0.5 });
    const conv = c.x.length === 3 ? g.conv1d : g.conv2d;
    const a = g.relu(conv(x, W, b, c.options));
    g.output("a", a);
    const r = g.input("r", [...a.shape]);
    return g.sum(g.mul(a, r));
  },
});

describe("WebAssembly SIMD convolution kernels", () => {
  for (const [i, c] of cases.entries()) {
    it(`x ${JSON.stringify(c.x)}, W ${JSON.stringify(c.W)}, ${JSON.stringify(c.options)}: SIMD ${c.simd ? "kernels" : "not planned"}; both engines agree with the float64 interpreter`, async () => {
      const { mod, graph, text, program } = await compileAndLoad(net(c), `simdconv-${i}`);
      const calls = [...new Set(text.match(/kernels\.conv_\w+\(\)/g) ?? [])];
      const ops = program.train.filter((k) => k.simd?.plan.kind === "conv").map((k) => (k.fused.includes("conv") ? "conv" : k.node.op));
      if (c.simd) {
        expect(ops.sort()).toEqual(["conv", "convInputGrad", "convWeightGrad"]);
        expect(calls.length).toBe(3);
        // the bias and relu are stored from the forward kernel's lanes
        const plan = program.forward.find((k) => k.node.op === "relu" || k.fused.includes("conv"))?.simd?.plan;
        expect(plan?.kind === "conv" && plan.epilogue).toBeTruthy();
      } else expect(calls).toEqual([]);
      const simd = mod.createModel({ seed: 3 }) as GeneratedModel & { engine: string };
      const js = mod.createModel({ seed: 3, simd: false } as { seed: number }) as GeneratedModel & { engine: string };
      expect(js.engine).toBe("js");
      // without SIMD convolutions, what runs in WebAssembly is elementwise maps only (relu's mask in backward: src/wasm/map.ts)
      const others = [...program.forward, ...program.train].filter((k) => k.simd && k.simd.plan.kind !== "conv");
      expect(others.every((k) => k.simd!.plan.kind === "map")).toBe(true);
      expect(simd.engine).toBe(c.simd || others.length ? "wasm-simd" : "js");
      const rand = rng(100 + i);
      const r = Float32Array.from({ length: graph.inputs.get("r")!.shape.reduce((a, d) => a * d, 1) }, () => rand() * 2 - 1);
      const params = Object.fromEntries(Object.entries(simd.params).map(([p, v]) => [p, Float64Array.from(v)]));
      const ref = interpret(graph, { r: Float64Array.from(r) }, params);
      for (const model of [simd, js]) {
        expect(scaledErr(model.forward({ r }).a!, ref.outputs.a!), `${model.engine} a`).toBeLessThan(2e-6);
        expect(scaledErr([model.lossAndGrad({ r })], [ref.loss!]), `${model.engine} loss`).toBeLessThan(2e-6);
        for (const p of ["x", "W", "b"]) expect(scaledErr(model.grads[p]!, ref.grads[p]!), `${model.engine} d${p}`).toBeLessThan(2e-6);
      }
      for (let s = 0; s < 3; s++) expect(Math.abs(simd.step({ r }) - js.step({ r }))).toBeLessThan(1e-5 * (1 + Math.abs(ref.loss!)));
      for (const p of ["x", "W", "b"]) expect(scaledErr(simd.params[p]!, js.params[p]!), p).toBeLessThan(1e-5);
    });
  }

  it("the text in the generated file assembles to exactly the bytes the module runs", async () => {
    const wabt = await wabtInit();
    for (const i of [1, 4]) {
      const { text } = await compileAndLoad(net(cases[i]!), `simdconv-wat-${i}`);
      const { bytes, wat } = kernelsOf(text)!;
      expect(wat).toMatch(/func \$conv_/);
      const mod = wabt.parseWat("kernels.wat", wat, { simd: true });
      const theirs = new Uint8Array(mod.toBinary({}).buffer);
      mod.destroy();
      expect(Buffer.from(theirs).equals(Buffer.from(bytes))).toBe(true);
    }
  });

  it("explain prints every conv kernel's math in the tutorial's notation (Z = X ⋆ W + b, dX = conv_transpose(dZ, W), dW = dZ ⋆ X, db = Σ dZ) with its shape and model line, and its SIMD plan", async () => {
    const text = explainText(await analyse(path.join(ROOT, "bench", "models", "w4.model.ts"), ROOT));
    const at = (line: number) => `bench/models/w4.model.ts:${line}`;
    expect(text).toContain(`p1_relu = relu((x ⋆ W1) + (reshape(b1, [8,1,1])))   [64×8×24×24]   ${at(16)}`);
    expect(text).toContain(`p2_relu = relu((p1 ⋆ W2) + (reshape(b2, [16,1,1])))   [64×16×8×8]   ${at(17)}`);
    expect(text).toContain(`dp1 = conv_transpose(dp2_add, W2)   [64×8×12×12]   ${at(17)}`);
    expect(text).toContain(`dW2 = dp2_add ⋆ p1   [16×8×5×5]   ${at(17)}`);
    expect(text).toContain(`dW1 = dp1_add ⋆ x   [8×1×5×5]   ${at(16)}`);
    // max pooling's backward masks the pooled gradient, then scatters it; the bias gradient sums the pooled product
    expect(text).toContain(`p1_mul = dp1 ⊙ relu'(p1)   [64×8×12×12]   ${at(16)}`);
    expect(text).toContain(`db1 = Σ[axes 0,2,3](p1_mul)   [8]   ${at(16)}`);
    expect(text).toContain(`dp1_add = maxpool_transpose(p1_mul at p1_argmax)   [64×8×24×24]   ${at(16)}`);
    for (const k of ["p1_relu", "p2_relu", "dW2", "dp1", "dW1"]) expect(text).toMatch(new RegExp(`simd: ${k} ← .* in WebAssembly, .*f32x4 along the rows`));
  });
});
