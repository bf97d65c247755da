/** Edge cases of lowering: outputs that are inputs, params or views; reshapes of transposed views; inference-only models. */
import { describe, expect, it } from "vitest";
import { defineModel, type ModelDefinition } from "../../src/dsl/define.js";
import { buildModel } from "../../src/front/build.js";
import { interpret } from "../../src/interp/interp.js";
import { runStages } from "../../src/lower/pipeline.js";
import { runPipeline } from "../../src/passes/pipeline.js";
import { compileAndLoad, maxRelErr, rng, scaledErr } from "../support/helpers.js";

// inference-only, with buffers: the conv reads (through its padding) a value that only training
// mode computes (the first batchNorm on batch statistics), and that feeds the second batchNorm's update
const bnConvBn: ModelDefinition = {
  dtype: "float64",
  build(g) {
    const x = g.input("x", [2, 2, 4, 4]);
    const stats = (name: string, c: number) => ({
      weight: g.param(`${name}.weight`, [c], { init: "ones" }),
      bias: g.param(`${name}.bias`, [c]),
      runningMean: g.buffer(`${name}.running_mean`, [c]),
      runningVar: g.buffer(`${name}.running_var`, [c], { init: "ones" }),
    });
    const h = g.batchNorm(x, stats("bn1", 2));
    const c = g.conv2d(h, g.param("conv.weight", [3, 2, 3, 3], { init: "normal", std: 1 }), undefined, { padding: 1 });
    g.output("y", g.batchNorm(c, stats("bn2", 3)));
  },
};

describe("lowering edge cases", () => {
  it("outputs that are an input, a param, a transposed param, and a reshape of a transposed view", async () => {
    const { mod, graph } = await compileAndLoad(
      {
        dtype: "float64",
        build(g) {
          const x = g.input("x", [2, 3]);
          const W = g.param("W", [2, 3], { init: "normal", std: 1 });
          g.output("x_out", x);
          g.output("W_out", W);
          g.output("Wt", g.transpose(W));
          const flat = g.reshape(g.transpose(g.mul(W, x)), [6]);
          g.output("flat", flat);
          return g.sum(g.mul(flat, g.constant([1, 2, 3, 4, 5, 6])));
        },
      },
      "edge-views",
    );
    const m = mod.createModel({ seed: 2 });
    const x = Float64Array.from([1, -2, 3, 0.5, 4, -1]);
    const ref = interpret(graph, { x }, { W: Float64Array.from(m.params.W!) });
    const out = m.forward({ x });
    for (const k of ["x_out", "W_out", "Wt", "flat"]) expect(maxRelErr(out[k]!, ref.outputs[k]!), k).toBeLessThan(1e-15);
    expect([...out.flat!]).toEqual([0, 3, 1, 4, 2, 5].map((i) => m.params.W![i]! * x[i]!));
    expect(maxRelErr([m.lossAndGrad({ x })], [ref.loss!])).toBeLessThan(1e-14);
    expect(maxRelErr(m.grads.W!, ref.grads.W!)).toBeLessThan(1e-14);
  });

  it("an inference-only model: forward works, lossAndGrad and step say there is no loss", async () => {
    const { mod, graph } = await compileAndLoad(
      { build: (g) => void g.output("y", g.relu(g.linear(g.input("x", [1, 2]), g.param("W", [3, 2]), g.param("b", [3])))) },
      "edge-inference",
    );
    const m = mod.createModel({ seed: 3 });
    m.params.b!.set([0.5, -0.25, 0.125]);
    const x = Float32Array.from([1, 2]);
    const y = m.forward({ x }).y!;
    const ref = interpret(graph, { x }, { W: Float64Array.from(m.params.W!), b: Float64Array.from(m.params.b!) }).outputs.y!;
    expect(ref.some((v) => v > 0)).toBe(true); // not all clipped by relu
    expect(scaledErr(y, ref)).toBeLessThan(1e-6); // float32 against float64
    expect(() => m.lossAndGrad({ x: new Float32Array(2) })).toThrow(/no loss/);
    expect(() => m.step({ x: new Float32Array(2) })).toThrow(/no loss/);
  });

  it("an inference-only model with buffers (batchNorm → conv2d → batchNorm): compiles, forward agrees with the interpreter", async () => {
    // before: FG900 (null view at makeKernel), the buffers' updates were scheduled in a training entry
    // that an inference-only model does not have, over nodes that fusion and storage never saw
    const lowered = runStages(runPipeline(buildModel(defineModel(bnConvBn), "t").graph), { optimizerState: [] });
    expect(lowered.schedule.train).toEqual([]);
    expect(lowered.schedule.forward.some((k) => k.node.op === "conv" || k.fused.includes("conv"))).toBe(true);

    const { mod, graph } = await compileAndLoad(bnConvBn, "edge-bn-inference");
    const m = mod.createModel({ seed: 4 });
    const rand = rng(7);
    // scales and variances in [0.5, 2], the rest in [-1, 1]
    for (const [k, a] of [...Object.entries(m.params), ...Object.entries(m.buffers)]) {
      const [lo, hi] = /^bn\d\.weight$|running_var$/.test(k) ? [0.5, 2] : [-1, 1];
      a.set(Array.from(a, () => lo + (hi - lo) * rand()));
    }
    const params = Object.fromEntries(Object.entries(m.params).map(([k, v]) => [k, Float64Array.from(v)]));
    const buffers = Object.fromEntries(Object.entries(m.buffers).map(([k, v]) => [k, Float64Array.from(v)]));
    const x = Float64Array.from({ length: 64 }, () => 4 * rand() - 2);
    const ref = interpret(graph, { x }, params, buffers).outputs.y!;
    expect(maxRelErr(m.forward({ x }).y!, ref)).toBeLessThan(1e-13);
    // eval mode: the running statistics are read, not written
    for (const [k, v] of Object.entries(m.buffers)) expect([...v], k).toEqual([...buffers[k]!]);
    expect(() => m.lossAndGrad({ x })).toThrow(/no loss/);
    expect(() => m.step({ x })).toThrow(/no loss/);
  });

  it("a param the loss does not reach gets a zero gradient; a param used twice gets the sum", async () => {
    const { mod } = await compileAndLoad(
      {
        dtype: "float64",
        build(g) {
          const a = g.param("a", [3], { init: "ones" });
          g.param("unused", [2], { init: "ones" });
          return g.sum(g.mul(a, a));
        },
      },
      "edge-grads",
    );
    const m = mod.createModel();
    m.lossAndGrad({});
    expect([...m.grads.a!]).toEqual([2, 2, 2]);
    expect([...m.grads.unused!]).toEqual([0, 0]);
  });
});
