/**
 * dropout(x, p): identity in eval mode and at p = 0; in training, each element zeroed with
 * probability p and the survivors scaled by exactly 1/(1 − p), a new mask on every call from the
 * model's seeded generator; the gradient of a call uses the mask of that call's forward; the same
 * seed gives the same masks.
 */
import { describe, expect, it } from "vitest";
import { compileAndLoad } from "../support/helpers.js";

const N = 20000;
/** loss = Σ dropout(W) ⊙ a: dL/dW = mask·a/(1 − p) shows the mask, the loss shows the forward's. */
const model = (p: number) => ({
  dtype: "float64" as const,
  build(g: import("../../src/dsl/builder.js").Builder) {
    const a = g.input("a", [N]);
    const W = g.param("W", [N], { init: "ones" });
    const y = g.dropout(g.mul(W, 1), p);
    g.output("y", y);
    return g.sum(g.mul(y, a));
  },
});

describe("dropout", () => {
  it("training: dropped fraction ≈ p, survivors scaled by exactly 1/(1 − p); the gradient uses the same mask; eval is the identity", async () => {
    const p = 0.3;
    const { mod } = await compileAndLoad(model(p), "dropout-train");
    const m = mod.createModel({ seed: 7 });
    const a = Float64Array.from({ length: N }, (_, i) => 1 + (i % 7));
    const masks: Float64Array[] = [];
    for (let call = 0; call < 3; call++) {
      const loss = m.lossAndGrad({ a });
      // dL/dW_i = mask_i·a_i: the mask of this call
      const mask = Float64Array.from(m.grads.W!, (g, i) => g / a[i]!);
      const kept = mask.filter((v) => v !== 0);
      expect(kept.every((v) => v === 1 / (1 - p))).toBe(true);
      // 20000 Bernoulli(0.3) draws: the dropped fraction is within 5 standard deviations (0.016) of p
      expect(Math.abs(1 - kept.length / N - p)).toBeLessThan(0.016);
      // the forward of the same call used the same mask: loss = Σ W·mask·a with W = 1
      expect(loss).toBeCloseTo(mask.reduce((s, v, i) => s + v * a[i]!, 0), 6);
      masks.push(mask);
    }
    // a new mask on every call
    expect(masks[1]).not.toEqual(masks[0]);
    expect(masks[2]).not.toEqual(masks[1]);
    // eval mode: the identity, and it draws no mask
    const y = m.forward({ a }).y!;
    expect(Array.from(y)).toEqual(Array.from(m.params.W!));
    expect(m.loss({ a })).toBe(a.reduce((s, v) => s + v, 0));
    // the same seed gives the same masks, call for call
    const m2 = mod.createModel({ seed: 7 });
    for (const mask of masks) {
      m2.lossAndGrad({ a });
      expect(Float64Array.from(m2.grads.W!, (g, i) => g / a[i]!)).toEqual(mask);
    }
    // and another seed other masks
    const m3 = mod.createModel({ seed: 8 });
    m3.lossAndGrad({ a });
    expect(Float64Array.from(m3.grads.W!, (g, i) => g / a[i]!)).not.toEqual(masks[0]);
  });

  it("p = 0 is the identity in training too", async () => {
    const { mod } = await compileAndLoad(model(0), "dropout-zero");
    const m = mod.createModel({ seed: 1 });
    const a = Float64Array.from({ length: N }, (_, i) => (i % 5) - 2);
    expect(m.lossAndGrad({ a })).toBe(a.reduce((s, v) => s + v, 0));
    expect(Array.from(m.grads.W!)).toEqual(Array.from(a));
    expect(Array.from(m.forward({ a }).y!)).toEqual(Array.from(m.params.W!));
  });

  it("float32: survivors are x·fround(1/(1 − p)), as torch scales in float32", async () => {
    const p = 0.5;
    const { mod } = await compileAndLoad({ ...model(p), dtype: "float32" }, "dropout-f32");
    const m = mod.createModel({ seed: 3 });
    const a = new Float32Array(N).fill(1);
    m.lossAndGrad({ a });
    const g = m.grads.W!;
    expect(g.every((v) => v === 0 || v === 2)).toBe(true);
    expect(Math.abs(g.filter((v) => v === 0).length / N - p)).toBeLessThan(0.018);
  });
});
