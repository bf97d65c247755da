/**
 * The debug build finds the NaN: after every kernel a non-finite value throws an error naming
 * the value, its equation, the model-file line and the step, before it spreads; `stats()` shows
 * every tensor and ‖dL/dW‖/‖W‖ per layer, so exploding and vanishing gradients are seen.
 */
import { describe, expect, it } from "vitest";
import type { Builder } from "../../src/dsl/builder.js";
import { compileAndLoad, rng } from "../support/helpers.js";

const net = (lr: number) => ({
  dtype: "float64" as const,
  optimizer: { type: "sgd" as const, lr },
  build(g: Builder) {
    const x = g.input("x", [8, 4]);
    const y = g.input("y", [8, 1]);
    const z1 = g.linear(x, g.param("W1", [6, 4]), g.param("b1", [6]));
    const a1 = g.relu(z1);
    const z2 = g.linear(a1, g.param("W2", [1, 6]), g.param("b2", [1]));
    return g.mse(z2, y);
  },
});

function batch() {
  const r = rng(3);
  return { x: Float64Array.from({ length: 32 }, () => r() * 4 - 2), y: Float64Array.from({ length: 8 }, () => r() * 10) };
}

describe("debug build", () => {
  it("stats(): every tensor of the last step and ‖dL/dW‖/‖W‖ per parameter", async () => {
    const { mod } = await compileAndLoad(net(0.01), "debug-stats", true);
    const m = mod.createModel({ seed: 1 }) as ReturnType<typeof mod.createModel> & { stats(): { step: number; tensors: Record<string, { min: number; max: number; mean: number; norm: number }>; gradToParam: Record<string, number> } };
    const b = batch();
    m.step(b);
    // the second step's forward runs with these params
    const W1 = Float64Array.from(m.params.W1!);
    const b1 = Float64Array.from(m.params.b1!);
    m.step(b);
    const s = m.stats();
    expect(s.step).toBe(2);
    for (const name of ["a1", "dW1", "db1", "dW2", "db2", "loss"]) expect(Object.keys(s.tensors)).toContain(name);
    // a1 = relu(x·W1ᵀ + b1) of the last step, summarised here from plain loops
    const a1 = Array.from({ length: 8 * 6 }, (_, i) => {
      const [r, j] = [Math.floor(i / 6), i % 6];
      let z = b1[j]!;
      for (let k = 0; k < 4; k++) z += b.x[r * 4 + k]! * W1[j * 4 + k]!;
      return Math.max(z, 0);
    });
    const want = { min: Math.min(...a1), max: Math.max(...a1), mean: a1.reduce((t, v) => t + v, 0) / a1.length, norm: Math.hypot(...a1) };
    expect(want.min).toBe(0); // relu clips some of them
    expect(want.max).toBeGreaterThan(0);
    for (const k of ["min", "max", "mean", "norm"] as const) expect(Math.abs(s.tensors.a1![k] - want[k]), k).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want[k])));
    // the stats of dW1 are those of the gradient buffer after the step
    let sq = 0;
    for (const v of m.grads.W1!) sq += v * v;
    expect(s.tensors.dW1!.norm).toBeCloseTo(Math.sqrt(sq), 12);
    let wq = 0;
    for (const v of m.params.W1!) wq += v * v;
    expect(s.gradToParam.W1).toBeCloseTo(Math.sqrt(sq) / Math.sqrt(wq), 12);
  });

  it("an exploding run stops at the first non-finite value, naming it, its equation, its line and the step", async () => {
    const { mod } = await compileAndLoad(net(1e3), "debug-explode", true);
    const m = mod.createModel({ seed: 1 });
    const b = batch();
    let err: Error | undefined;
    let steps = 0;
    try {
      for (; steps < 100; steps++) m.step(b);
    } catch (e) {
      err = e as Error;
    }
    expect(err, "the run should blow up with lr = 1000").toBeDefined();
    expect(err!.message).toMatch(/^debug-explode: (\w+)\[\d+\] = (NaN|-?Infinity) after step \d+: \1 = .+ {3}\(debug-explode\.model\.ts:\d+\)/);
    expect(Number(/after step (\d+)/.exec(err!.message)![1])).toBe(steps + 1);
  });

  it("the release build has neither checks nor stats", async () => {
    const { mod, text } = await compileAndLoad(net(1e3), "release-explode");
    expect(text).not.toContain("debug build");
    const m = mod.createModel({ seed: 1 }) as unknown as Record<string, unknown>;
    expect(m.stats).toBeUndefined();
  });
});
