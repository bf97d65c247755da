/** Bugs found by the random-graph test, kept as small fixed cases. */
import { describe, expect, it } from "vitest";
import { interpret } from "../../src/interp/interp.js";
import { compileAndLoad, maxRelErr } from "../support/helpers.js";

describe("regressions", () => {
  it("a reduction over a folded conditional expression keeps its precedence (random seed 55)", async () => {
    // Σ leakyRelu(p) once emitted `acc = acc + p[i] > 0 ? p[i] : 0.1 * p[i]`
    const { mod, graph } = await compileAndLoad({ dtype: "float64", build: (g) => g.sum(g.leakyRelu(g.param("p", [4]), 0.1)) }, "reg-precedence");
    const m = mod.createModel();
    m.params.p!.set([0.5, -2, 3, -0.25]);
    const ref = interpret(graph, {}, { p: m.params.p! });
    expect(m.lossAndGrad({})).toBeCloseTo(0.5 - 0.2 + 3 - 0.025, 12);
    expect(maxRelErr([m.lossAndGrad({})], [ref.loss!])).toBeLessThan(1e-14);
  });
});
