/** Edge cases of lowering: outputs that are inputs, params or views; reshapes of transposed views; inference-only models. */
import { describe, expect, it } from "vitest";
import { interpret } from "../../src/interp/interp.js";
import { compileAndLoad, maxRelErr, scaledErr } from "../support/helpers.js";

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
