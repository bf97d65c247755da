/**
 * The registry table test: every op, every sample case, two seeds. For each: the shape rule, the
 * interpreter's eval against plain loops, the generated forward code against the interpreter, and
 * the gradient of the generated backward code against the interpreter and against central finite
 * differences in float64 (|analytic − numeric| ≤ 1e-8 + 1e-6·|numeric|).
 */
import { describe, expect, it } from "vitest";
import { registry } from "../src/ops/index.js";
import { evaluate } from "../src/interp/interp.js";
import type { Node } from "../src/ir/graph.js";
import { size } from "../src/ir/shape.js";
import { cases, type Domain } from "./ops.cases.js";
import { compileAndLoad, maxRelErr, rng } from "./helpers.js";

function sample(domain: Domain, rand: () => number): number {
  switch (domain) {
    case "positive":
      return 0.5 + 1.5 * rand();
    case "unit":
      return rand();
    case "prob":
      return 0.1 + 0.8 * rand();
    default:
      return (rand() < 0.5 ? -1 : 1) * (0.2 + 1.3 * rand());
  }
}

describe("op registry", () => {
  it("has at least three cases for every op", () => {
    for (const op of Object.keys(registry)) expect(cases[op as keyof typeof cases]?.length ?? 0, op).toBeGreaterThanOrEqual(3);
  });

  for (const [op, list] of Object.entries(cases)) {
    list.forEach((c, ci) => {
      it(`${op} #${ci}: ${c.shapes.map((s) => `[${s}]`).join(" ")} → [${c.shape}]`, async () => {
        let out: Node | undefined;
        const weights = rng(99);
        const { mod, graph } = await compileAndLoad({
          dtype: "float64",
          build(g) {
            const ps = c.shapes.map((s, i) => g.param(`p${i}`, s, { init: "zeros" }));
            out = c.build(g, ps);
            if (op !== "output") g.output("out", out);
            const r = g.constant(Array.from({ length: size(out.shape) }, () => weights() * 2 - 1), out.shape.length ? [...out.shape] : []);
            return g.sum(g.mul(out, r));
          },
        }, `op-${op}-${ci}`);
        // shape rule
        expect([...out!.shape]).toEqual(c.shape);
        for (const seed of [1, 2]) {
          const rand = rng(seed * 1000 + ci);
          const m = mod.createModel();
          c.shapes.forEach((s, i) => {
            const p = m.params[`p${i}`]!;
            for (let k = 0; k < p.length; k++) p[k] = sample(c.domains?.[i] ?? "any", rand);
          });
          const inputs: Record<string, Float64Array> = {};
          for (const [name, n] of graph.inputs) inputs[name] = Float64Array.from({ length: size(n.shape) }, () => sample("any", rand));
          const params = Object.fromEntries(Object.entries(m.params).map(([k, v]) => [k, Float64Array.from(v)]));
          // eval against plain loops
          const ref = evaluate([out!], inputs, params).get(out!)!;
          if (c.ref) expect(maxRelErr(ref, c.ref(c.shapes.map((_, i) => params[`p${i}`]!)), 1e-300)).toBeLessThan(1e-12);
          // generated forward against the interpreter
          const fwd = m.forward(inputs)[op === "output" ? "o" : "out"]!;
          expect(maxRelErr(fwd, ref, 1e-300)).toBeLessThan(1e-12);
          // generated backward against the interpreter and finite differences
          const { interpret } = await import("../src/interp/interp.js");
          const oracle = interpret(graph, inputs, params);
          m.lossAndGrad(inputs);
          const grads = Object.fromEntries(Object.entries(m.grads).map(([k, v]) => [k, Float64Array.from(v)]));
          for (const k of Object.keys(grads)) expect(maxRelErr(grads[k]!, oracle.grads[k]!, 1e-9), k).toBeLessThan(1e-10);
          const h = 1e-5;
          for (const [k, p] of Object.entries(m.params)) {
            for (let i = 0; i < p.length; i++) {
              const v = p[i]!;
              p[i] = v + h;
              const up = m.lossAndGrad(inputs);
              p[i] = v - h;
              const down = m.lossAndGrad(inputs);
              p[i] = v;
              const numeric = (up - down) / (2 * h);
              const analytic = grads[k]![i]!;
              if (c.zeroGrad || c.stopsGradient) expect(analytic).toBe(0);
              if (c.stopsGradient) continue;
              expect(Math.abs(analytic - numeric), `${k}[${i}]: analytic ${analytic}, numeric ${numeric}`).toBeLessThanOrEqual(1e-8 + 1e-6 * Math.abs(numeric));
            }
          }
        }
      });
    });
  }
});
