/**
 * attentionProbs in WebAssembly SIMD (src/wasm/attention.ts: the scores, then the softmax four keys
 * at a time, the row's last keys one at a time): the SIMD build, the plain loops
 * (`simd: false`) and the float64 interpreter agree on P = softmax(q·kᵀ·scale), its output and its
 * gradients, with and without the causal mask, for queries fewer and more than keys, one or two
 * batch axes, heads read through reshape/transpose views (W5's layout), k broadcast over a batch
 * axis, and a head size that is not a multiple of 4 (the loops only); the WAT reassembles.
 */
import { describe, expect, it } from "vitest";
import wabtInit from "wabt";
import { interpret } from "../../src/interp/interp.js";
import type { Builder } from "../../src/dsl/builder.js";
import { compileAndLoad, kernelsOf, rng, scaledErr, type GeneratedModel } from "../support/helpers.js";

interface Case {
  q: number[];
  k: number[];
  causal: boolean;
  /** Split the last axis into heads of this size through reshape and transpose (q, k and v views of [B, L, H·dh]). */
  heads?: number;
  simd: boolean;
}
const cases: Case[] = [
  { q: [2, 4, 8], k: [2, 6, 8], causal: false, simd: true },
  { q: [2, 3, 5, 4], k: [2, 3, 5, 4], causal: true, simd: true },
  { q: [1, 7, 12], k: [1, 5, 12], causal: true, simd: true }, // more queries than keys: rows 5… read all 5
  { q: [2, 3, 4], k: [2, 6, 4], causal: true, simd: true }, // fewer queries than keys
  { q: [3, 4, 8], k: [1, 5, 8], causal: false, simd: true }, // k broadcast over the batch axis
  { q: [2, 6, 16], k: [2, 6, 16], causal: true, heads: 8, simd: true }, // two heads of 8, as W5 reads them
  { q: [2, 5, 6], k: [2, 5, 6], causal: true, simd: false }, // head size 6: the loops
];

const net = (c: Case) => ({
  dtype: "float32" as const,
  optimizer: { type: "sgd" as const, lr: 0.05 },
  build(g: Builder) {
    const q0 = g.param("q", c.q, { init: "normal", std: 1 });
    const k0 = g.param("k", c.k, { init: "normal", std: 1 });
    const v0 = g.param("v", [...c.k.slice(0, -1), 3 * (c.heads ? c.k[c.k.length - 1]! / c.heads : 1)], { init: "normal", std: 1 });
    const split = (t: ReturnType<Builder["param"]>) => {
      if (!c.heads) return t;
      const [B, L, D] = t.shape as [number, number, number];
      return g.transpose(g.reshape(t, [B, L, D / c.heads, c.heads]), [0, 2, 1, 3]);
    };
    const o = g.scaledDotProductAttention(split(q0), split(k0), c.heads ? g.transpose(g.reshape(v0, [c.k[0]!, c.k[1]!, c.k[2]! / c.heads, 3]), [0, 2, 1, 3]) : v0, { causal: c.causal });
    g.output("o", o);
    const r = g.input("r", [...o.shape]);
    return g.sum(g.mul(o, r));
  },
});

describe("WebAssembly SIMD attention probabilities", () => {
  for (const [i, c] of cases.entries()) {
    it(`q ${JSON.stringify(c.q)}, k ${JSON.stringify(c.k)}${c.causal ? ", causal" : ""}${c.heads ? `, heads of ${c.heads}` : ""}: SIMD ${c.simd ? "kernel" : "not planned"}; both engines agree with the float64 interpreter`, async () => {
      const { mod, graph, text, program } = await compileAndLoad(net(c), `simdattn-${i}`);
      const planned = program.forward.filter((k) => k.simd?.plan.kind === "attention");
      expect(planned.length).toBe(c.simd ? 1 : 0);
      expect(/kernels\.attn_\w+\(\)/.test(text)).toBe(c.simd);
      const simd = mod.createModel({ seed: 5 }) as GeneratedModel & { engine: string };
      const js = mod.createModel({ seed: 5, simd: false } as { seed: number }) as GeneratedModel & { engine: string };
      expect(js.engine).toBe("js");
      const rand = rng(200 + i);
      const r = Float32Array.from({ length: graph.inputs.get("r")!.shape.reduce((a, d) => a * d, 1) }, () => rand() * 2 - 1);
      const params = Object.fromEntries(Object.entries(simd.params).map(([p, v]) => [p, Float64Array.from(v)]));
      const ref = interpret(graph, { r: Float64Array.from(r) }, params);
      for (const model of [simd, js]) {
        expect(scaledErr(model.forward({ r }).o!, ref.outputs.o!), `${model.engine} o`).toBeLessThan(2e-6);
        expect(scaledErr([model.lossAndGrad({ r })], [ref.loss!]), `${model.engine} loss`).toBeLessThan(2e-6);
        for (const p of ["q", "k", "v"]) expect(scaledErr(model.grads[p]!, ref.grads[p]!), `${model.engine} d${p}`).toBeLessThan(2e-6);
      }
      for (let s = 0; s < 3; s++) expect(Math.abs(simd.step({ r }) - js.step({ r }))).toBeLessThan(1e-5 * (1 + Math.abs(ref.loss!)));
      for (const p of ["q", "k", "v"]) expect(scaledErr(simd.params[p]!, js.params[p]!), p).toBeLessThan(1e-5);
    });
  }

  it("the causal rows' text in the generated file assembles to exactly the bytes the module runs", async () => {
    const wabt = await wabtInit();
    const { text } = await compileAndLoad(net(cases[2]!), "simdattn-wat");
    const { bytes, wat } = kernelsOf(text)!;
    expect(wat).toMatch(/func \$attn_/);
    const mod = wabt.parseWat("kernels.wat", wat, { simd: true });
    const theirs = new Uint8Array(mod.toBinary({}).buffer);
    mod.destroy();
    expect(Buffer.from(theirs).equals(Buffer.from(bytes))).toBe(true);
  });
});
