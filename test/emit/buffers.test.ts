/**
 * Buffers (state that is not trained) in the generated module: initialised like params, read by
 * every entry point, written only by training (after the gradients, all new values computed
 * before any is stored), carried by saveParams/loadParams, never touched by resetOptimizer; and
 * inputs of another dtype (int32) taken as Int32Array.
 */
import { describe, expect, it } from "vitest";
import type { ModelDefinition } from "../../src/dsl/define.js";
import { interpret } from "../../src/interp/interp.js";
import { compileAndLoad, maxRelErr } from "../support/helpers.js";

/** batchNorm-like: normalise with the running mean in eval, with the batch mean in training; update the running mean. */
const bnLike: ModelDefinition = {
  dtype: "float64",
  optimizer: { type: "adam", lr: 0.01 },
  build(g) {
    const x = g.input("x", [4, 3]);
    const running = g.buffer("bn1.running_mean", [3]);
    const scale = g.buffer("bn1.scale", [3], { init: "ones" });
    const W = g.param("W", [2, 3], { init: "normal", std: 1 });
    const batchMean = g.mean(x, 0);
    g.assign(running, g.add(g.mul(running, 0.9), g.mul(batchMean, 0.1)));
    const centred = g.mul(g.sub(x, g.byMode(batchMean, running)), scale);
    const z = g.linear(centred, W);
    g.output("z", z);
    return g.mean(g.square(z));
  },
};

const X = Float64Array.from([1, 2, 3, 4, -1, 0.5, 2, 2, 2, -3, 1, 0]);
const copy = (r: Record<string, Float64Array>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Float64Array.from(v)]));

describe("buffers in the generated module", () => {
  it("are initialised, read in eval mode, updated once per training call, and agree with the interpreter", async () => {
    const { mod, graph } = await compileAndLoad(bnLike, "bn-like");
    const m = mod.createModel({ seed: 1 });
    expect([...m.buffers["bn1.running_mean"]!]).toEqual([0, 0, 0]);
    expect([...m.buffers["bn1.scale"]!]).toEqual([1, 1, 1]);
    expect(mod.spec.buffers).toEqual({ "bn1.running_mean": [3], "bn1.scale": [3] });

    // forward (eval) neither changes the buffers nor uses the batch mean
    const before = copy(m.buffers as Record<string, Float64Array>);
    const ref0 = interpret(graph, { x: X }, copy(m.params as Record<string, Float64Array>), before);
    expect(maxRelErr(m.forward({ x: X }).z!, ref0.outputs.z!)).toBeLessThan(1e-14);
    expect(copy(m.buffers as Record<string, Float64Array>)).toEqual(before);

    // each training call: loss and gradients with the batch mean, then running ← 0.9·running + 0.1·mean
    for (let step = 0; step < 3; step++) {
      const params = copy(m.params as Record<string, Float64Array>);
      const bufs = copy(m.buffers as Record<string, Float64Array>);
      const ref = interpret(graph, { x: X }, params, bufs);
      const loss = m.step({ x: X });
      expect(maxRelErr([loss], [ref.loss!])).toBeLessThan(1e-14);
      expect(maxRelErr(m.grads.W!, ref.grads.W!)).toBeLessThan(1e-13);
      expect(maxRelErr(m.buffers["bn1.running_mean"]!, ref.updates["bn1.running_mean"]!)).toBeLessThan(1e-14);
      const mean = [0, 1, 2].map((j) => (X[j]! + X[3 + j]! + X[6 + j]! + X[9 + j]!) / 4);
      expect(maxRelErr(m.buffers["bn1.running_mean"]!, bufs["bn1.running_mean"]!.map((r, j) => 0.9 * r + 0.1 * mean[j]!))).toBeLessThan(1e-14);
      // a buffer with no update keeps its value
      expect([...m.buffers["bn1.scale"]!]).toEqual([1, 1, 1]);
    }
  });

  it("resetOptimizer leaves buffers alone; saveParams/loadParams carry them", async () => {
    const { mod } = await compileAndLoad(bnLike, "bn-like-ckpt");
    const a = mod.createModel({ seed: 1 });
    for (let i = 0; i < 4; i++) a.step({ x: X });
    const trained = Float64Array.from(a.buffers["bn1.running_mean"]!);
    expect(trained.some((v) => v !== 0)).toBe(true);
    a.resetOptimizer();
    expect([...a.buffers["bn1.running_mean"]!]).toEqual([...trained]);
    const b = mod.createModel({ seed: 2 });
    b.loadParams(a.saveParams());
    expect([...b.buffers["bn1.running_mean"]!]).toEqual([...trained]);
    expect([...b.params.W!]).toEqual([...a.params.W!]);
    expect([...b.forward({ x: X }).z!]).toEqual([...a.forward({ x: X }).z!]);
  });

  it("all new values are computed before any is written: swapping two buffers swaps them", async () => {
    const { mod } = await compileAndLoad(
      {
        dtype: "float64",
        build(g) {
          const a = g.buffer("a", [2], { init: "ones" });
          const b = g.buffer("b", [2]);
          const W = g.param("W", [2]);
          g.assign(a, b);
          g.assign(b, g.add(a, 1));
          return g.sum(g.mul(W, g.add(a, b)));
        },
      },
      "swap",
    );
    const m = mod.createModel();
    m.lossAndGrad({});
    expect([...m.buffers.a!, ...m.buffers.b!]).toEqual([0, 0, 2, 2]);
    m.lossAndGrad({});
    expect([...m.buffers.a!, ...m.buffers.b!]).toEqual([2, 2, 1, 1]);
  });

  it("takes an int32 input as an Int32Array (spec.inputDtypes says which), and rejects a float array for it", async () => {
    const { mod } = await compileAndLoad(
      {
        build(g) {
          const ids = g.input("ids", [3], { dtype: "int32" });
          g.output("ids_out", ids);
          g.output("y", g.relu(g.input("x", [3])));
        },
      },
      "int-input",
    );
    expect(mod.spec.inputDtypes).toEqual({ ids: "int32", x: "float32" });
    const m = mod.createModel();
    const out = m.forward({ ids: Int32Array.from([7, -2, 2147483647]), x: Float32Array.from([1, -1, 2]) }) as Record<string, Float32Array | Int32Array>;
    expect(out.ids_out).toBeInstanceOf(Int32Array);
    expect([...out.ids_out!]).toEqual([7, -2, 2147483647]);
    expect([...out.y!]).toEqual([1, 0, 2]);
    expect(() => m.forward({ ids: Float32Array.from([1, 2, 3]), x: Float32Array.from([1, 2, 3]) } as never)).toThrow('input "ids" must be an Int32Array of length 3');
  });
});
