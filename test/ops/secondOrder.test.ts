/**
 * Second derivatives of every op (test/support/secondOrder.ts): the generated backward of the
 * generated backward against central finite differences of the generated first derivative, and
 * the ops that are not twice differentiable everywhere, each with its reason and its kink shown.
 */
import { describe, expect, it } from "vitest";
import { vjp } from "../../src/autodiff/vjp.js";
import { buildModel } from "../../src/front/build.js";
import { defineModel } from "../../src/index.js";
import { topo } from "../../src/ir/graph.js";
import { size } from "../../src/ir/shape.js";
import { registry } from "../../src/ops/index.js";
import { cases } from "../support/ops.cases.js";
import { compileAndLoad, rng } from "../support/helpers.js";
import { fillParams, finiteDifferences, sample } from "../support/gradcheck.js";
import { compileSecondOrder, NOT_TWICE, secondOrderCases } from "../support/secondOrder.js";

/** Ops whose derivative is 0 almost everywhere: a first derivative that reads one of them has a jump. */
const STEP_OPS = new Set(["heaviside", "sign", "ge", "argmaxMask", "maxPool2dIndex"]);

/** Ops whose output is an int32 tensor: no gradient flows through them, so there is no derivative to differentiate again. */
const NO_GRADIENT: Record<string, string> = {
  argmax: "an int32 index: its gradient is null, so the second-order table has nothing to check",
  maxPool2dIndex: "an int32 index (each pooling window's first maximum): its gradient is null, so the second-order table has nothing to check",
};

describe("second derivatives of every op", () => {
  it("skips only ops whose output is int32 (no gradient)", async () => {
    for (const op of Object.keys(NO_GRADIENT)) {
      const c = cases[op as keyof typeof cases]![0]!;
      const { graph } = await compileAndLoad({ dtype: "float64", build: (g) => void g.output("out", c.build(g, c.shapes.map((s, i) => g.param(`p${i}`, s)))) }, `nograd-${op}`);
      expect(graph.outputs.get("out")!.dtype, op).toBe("int32");
    }
  });
  for (const [op, list] of Object.entries(cases))
    if (!(op in NO_GRADIENT)) secondOrderCases(list).forEach((c, ci) => {
      it(`${op} #${ci}: ${c.shapes.map((s) => `[${s}]`).join(" ")}`, async () => {
        const { mod, graph } = await compileSecondOrder(op, c, ci);
        for (const seed of [1, 2]) {
          const rand = rng(seed * 1000 + ci);
          const m = mod.createModel();
          fillParams(m, c, rand);
          const inputs: Record<string, Float64Array | Int32Array> = {};
          // int32 inputs (labels, ids) drawn in the range their ops accept, as in the first-order table
          for (const [name, n] of graph.inputs)
            inputs[name] = n.dtype === "int32" ? Int32Array.from({ length: size(n.shape) }, () => c.ints![name]!(rand)) : Float64Array.from({ length: size(n.shape) }, () => sample("any", rand));
          // the second-order loss is not the case's own: its zero-gradient flags do not apply
          expect(finiteDifferences(m, inputs, { ...c, zeroGrad: false, stopsGradient: false })).toEqual([]);
        }
      });
    });
});

describe("not twice differentiable here", () => {
  it("lists only ops of the registry, each with a reason", () => {
    for (const [op, e] of Object.entries(NOT_TWICE)) {
      expect(op in registry, op).toBe(true);
      expect(e!.reason.length, op).toBeGreaterThan(20);
    }
  });

  it("lists every op whose first derivative reads a step (heaviside, sign, ge, argmaxMask, maxPool2dIndex) of its operands", () => {
    const found: string[] = [];
    for (const [op, list] of Object.entries(cases)) {
      if (op === "customVjp") continue; // the user's rule decides
      if (op in NO_GRADIENT) continue; // an int32 output: no derivative at all
      for (const c of list) {
        let ps: ReturnType<typeof Array.prototype.map> = [];
        let out: ReturnType<(typeof c)["build"]> | undefined;
        const { graph } = buildModel(
          defineModel({
            dtype: "float64",
            build(g) {
              ps = c.shapes.map((s, i) => g.param(`p${i}`, s));
              out = c.build(g, ps as never);
              g.output("o2", out);
            },
          }),
          "t",
        );
        const b = graph.ctx;
        const one = b.make("constant", [], { values: [1], shape: [...out!.shape] });
        const ds = vjp(b, [out!], [one], ps as never);
        const params = new Set(ps as never[]);
        const dependsOnParams = (n: { inputs: readonly unknown[] }) => topo([n as never]).some((m) => params.has(m as never));
        if (topo(ds).some((n) => STEP_OPS.has(n.op) && dependsOnParams(n))) found.push(op);
      }
    }
    const listed = (op: string) => op in NOT_TWICE;
    expect([...new Set(found)].filter((op) => !listed(op))).toEqual([]);
  });

  for (const [op, e] of Object.entries(NOT_TWICE))
    if (e!.kink)
      it(`${op}: at its kink the compiled second derivative is 0 while finite differences of the first derivative jump`, async () => {
        const { kink } = e!;
        const { mod } = await compileAndLoad(
          {
            dtype: "float64",
            build(g) {
              const p = g.param("p", [1], { init: "zeros" });
              const [d] = g.grad(kink!.f(g, p), [p]);
              g.output("d", d!);
              return g.sum(d!);
            },
          },
          `kink-${op}`,
        );
        const m = mod.createModel();
        const first = (v: number) => {
          m.params.p![0] = v;
          return m.forward({}).d![0]!;
        };
        const h = 1e-5;
        for (const at of [kink!.at - 0.3, kink!.at + 0.3]) {
          // away from the kink: 0, and finite differences agree
          m.params.p![0] = at;
          m.lossAndGrad({});
          expect(m.grads.p![0]).toBe(0);
          expect(Math.abs((first(at + h) - first(at - h)) / (2 * h))).toBeLessThan(1e-6);
        }
        // at the kink: the first derivative jumps, so its difference quotient is of order 1/h; the compiled value is 0
        expect(Math.abs((first(kink!.at + h) - first(kink!.at - h)) / (2 * h))).toBeGreaterThan(1e3);
        m.params.p![0] = kink!.at;
        m.lossAndGrad({});
        expect(m.grads.p![0]).toBe(0);
      });
});
