/**
 * The registry table test: every op, every sample case, two seeds. For each: the shape rule, the
 * interpreter's eval against plain loops, the generated forward code against the interpreter, and
 * the gradient of the generated backward code against the interpreter and against central finite
 * differences in float64 (|analytic − numeric| ≤ 1e-8 + 1e-6·|numeric|).
 */
import { describe, expect, it } from "vitest";
import { registry } from "../../src/ops/index.js";
import { evaluate, interpret } from "../../src/interp/interp.js";
import { size } from "../../src/ir/shape.js";
import { cases } from "../support/ops.cases.js";
import { maxRelErr, rng } from "../support/helpers.js";
import { caseInputs, compileCase, fillParams, finiteDifferences } from "../support/gradcheck.js";

describe("op registry", () => {
  it("has at least three cases for every op", () => {
    for (const op of Object.keys(registry)) expect(cases[op as keyof typeof cases]?.length ?? 0, op).toBeGreaterThanOrEqual(3);
  });

  for (const [op, list] of Object.entries(cases)) {
    list.forEach((c, ci) => {
      it(`${op} #${ci}: ${c.shapes.map((s) => `[${s}]`).join(" ")} → [${c.shape}]`, async () => {
        const { mod, graph, out } = await compileCase(op, c, ci);
        // shape rule
        expect([...out!.shape]).toEqual(c.shape);
        for (const seed of [1, 2]) {
          const rand = rng(seed * 1000 + ci);
          const m = mod.createModel();
          fillParams(m, c, rand);
          const { oracle: inputs, generated } = caseInputs(graph, c, rand);
          const params = Object.fromEntries(Object.entries(m.params).map(([k, v]) => [k, Float64Array.from(v)]));
          // buffers hold their init: zeros (the default) in every case
          const buffers = Object.fromEntries([...graph.buffers].map(([k, n]) => [k, new Float64Array(size(n.shape))]));
          // eval against plain loops
          const ref = evaluate([out!], inputs, params, { buffers }).get(out!)!;
          if (c.ref) expect(maxRelErr(ref, c.ref(c.shapes.map((_, i) => params[`p${i}`]!), inputs), 1e-300)).toBeLessThan(1e-12);
          // generated forward against the interpreter
          const fwd = m.forward(generated)[op === "output" ? "o" : "out"]!;
          expect(fwd.constructor.name).toBe(out!.dtype === "int32" ? "Int32Array" : "Float64Array");
          expect(maxRelErr(fwd, ref, 1e-300)).toBeLessThan(1e-12);
          // generated backward against the interpreter and finite differences
          const oracle = interpret(graph, inputs, params, buffers);
          m.lossAndGrad(generated);
          for (const k of Object.keys(oracle.grads)) expect(maxRelErr(m.grads[k]!, oracle.grads[k]!, 1e-9), k).toBeLessThan(1e-10);
          expect(finiteDifferences(m, generated, c)).toEqual([]);
        }
      });
    });
  }
});
