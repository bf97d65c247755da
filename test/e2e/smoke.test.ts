import { describe, expect, it } from "vitest";
import { compileAndLoad, maxRelErr, randomInputs, rng } from "../support/helpers.js";
import { interpret } from "../../src/interp/interp.js";

describe("seed net", () => {
  it("matches the interpreter in float64", async () => {
    const { mod, graph } = await compileAndLoad({
      dtype: "float64",
      build(g) {
        const x = g.input("x", [8, 5]);
        const y = g.input("y", [8, 1]);
        const W1 = g.param("W1", [4, 5]);
        const b1 = g.param("b1", [4], { init: "normal", std: 0.1 });
        const W2 = g.param("W2", [1, 4]);
        const b2 = g.param("b2", [1]);
        const z2 = g.linear(g.relu(g.linear(x, W1, b1)), W2, b2);
        g.output("yhat", g.sigmoid(z2));
        return g.bceWithLogits(z2, y);
      },
    });
    const m = mod.createModel({ seed: 3 });
    const inputs = randomInputs(graph, rng(1));
    const loss = m.lossAndGrad(inputs);
    const ref = interpret(graph, inputs, m.params);
    expect(maxRelErr([loss], [ref.loss!])).toBeLessThan(1e-12);
    for (const k of Object.keys(ref.grads)) expect(maxRelErr(m.grads[k]!, ref.grads[k]!)).toBeLessThan(1e-10);
    const out = m.forward(inputs);
    expect(maxRelErr(out.yhat!, ref.outputs.yhat!)).toBeLessThan(1e-12);
  });
});
