/**
 * Modes: one graph, two entry schedules. `forward` runs in eval mode and `lossAndGrad` in
 * training mode; `byMode(train, eval)` is resolved per entry point before lowering, and what
 * does not differ between the modes stays one node (one kernel).
 */
import { describe, expect, it } from "vitest";
import { defineModel, type ModelDefinition } from "../../src/dsl/define.js";
import { buildModel } from "../../src/front/build.js";
import { runPipeline } from "../../src/passes/pipeline.js";
import { entriesOf } from "../../src/lower/fuse.js";
import { runStages } from "../../src/lower/pipeline.js";
import { interpret } from "../../src/interp/interp.js";
import { topo } from "../../src/ir/graph.js";
import { compileAndLoad, maxRelErr } from "../support/helpers.js";

// a dropout-like layer: training scales by a mask, eval is the identity
const modal: ModelDefinition = {
  dtype: "float64",
  build(g) {
    const x = g.input("x", [2, 3]);
    const W = g.param("W", [4, 3], { init: "normal", std: 1 });
    const h = g.linear(x, W);
    const mask = g.constant([1, 0, 2, 2, 0, 1, 1, 2], [2, 4]);
    const z = g.byMode(g.mul(h, mask), h);
    g.output("z", z);
    return g.sum(g.square(z));
  },
};

describe("modes", () => {
  it("forward runs the eval branch, lossAndGrad the training branch; the interpreter agrees with both", async () => {
    const { mod, graph } = await compileAndLoad(modal, "modes");
    const m = mod.createModel({ seed: 3 });
    const x = Float64Array.from([0.5, -1, 2, 1.5, 0.25, -0.75]);
    const W = Float64Array.from(m.params.W!);
    const ref = interpret(graph, { x }, { W });
    const h = [0, 1].flatMap((i) => [0, 1, 2, 3].map((j) => [0, 1, 2].reduce((s, k) => s + x[i * 3 + k]! * W[j * 3 + k]!, 0)));
    const mask = [1, 0, 2, 2, 0, 1, 1, 2];
    // eval: z = h
    expect(maxRelErr(m.forward({ x }).z!, h)).toBeLessThan(1e-14);
    expect(maxRelErr(ref.outputs.z!, h)).toBeLessThan(1e-14);
    // training: loss = Σ (h ⊙ mask)², in the module and in the interpreter
    const trainLoss = h.reduce((s, v, i) => s + (v * mask[i]!) ** 2, 0);
    expect(maxRelErr([m.lossAndGrad({ x })], [trainLoss])).toBeLessThan(1e-14);
    expect(maxRelErr([ref.loss!], [trainLoss])).toBeLessThan(1e-14);
    expect(maxRelErr([ref.evalLoss!], [h.reduce((s, v) => s + v * v, 0)])).toBeLessThan(1e-14);
    // dL/dW = Σᵢ 2·(h⊙mask)⊙mask ⊗ x
    const dW = [0, 1, 2, 3].flatMap((j) => [0, 1, 2].map((k) => [0, 1].reduce((s, i) => s + 2 * h[i * 4 + j]! * mask[i * 4 + j]! ** 2 * x[i * 3 + k]!, 0)));
    expect(maxRelErr(m.grads.W!, dW)).toBeLessThan(1e-13);
    expect(maxRelErr(ref.grads.W!, dW)).toBeLessThan(1e-13);
  });

  it("each entry point's roots are specialised: no byMode node reaches lowering", () => {
    const g = runPipeline(buildModel(defineModel(modal), "t").graph);
    const e = entriesOf(g);
    const nodes = topo([...e.outputs.values(), e.evalLoss!, e.loss!, ...e.grads.values()]);
    expect(nodes.some((n) => n.op === "byMode")).toBe(false);
    expect(e.evalLoss).not.toBe(e.loss);
    // the product h = x·Wᵀ is one node in both modes, so one kernel that both entry points run
    const l = runStages(g, { optimizerState: [] });
    const h = l.schedule.forward.find((k) => k.out === "h");
    expect(h?.comment).toBe("h = x·Wᵀ");
    expect(l.schedule.train).toContain(h);
  });

  it("a model whose modes do not differ has one loss node for both", () => {
    const g = runPipeline(buildModel(defineModel({ build: (g) => g.sum(g.relu(g.linear(g.input("x", [2, 3]), g.param("W", [4, 3])))) }), "t").graph);
    const e = entriesOf(g);
    expect(e.evalLoss).toBe(e.loss);
  });
});
