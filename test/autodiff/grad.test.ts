/**
 * g.grad and g.customGrad: derivatives as values of the model, differentiated again by the
 * pipeline. Checked against central finite differences in float64 of the generated module's own
 * loss and outputs (first order: ∂y/∂x as an output; second order: the param gradients of a loss
 * built from g.grad).
 */
import { describe, expect, it } from "vitest";
import type { Builder } from "../../src/dsl/builder.js";
import { roots, topo, type Node } from "../../src/ir/graph.js";
import { compileAndLoad, maxRelErr, rng, type GeneratedModel } from "../support/helpers.js";

const H = 1e-5;
/** |analytic − numeric| ≤ 1e-8 + 1e-6·|numeric| for every element of every param (the op table's tolerance). */
function paramGradFailures(m: GeneratedModel, inputs: Record<string, Float64Array>): string[] {
  m.lossAndGrad(inputs);
  const grads = Object.fromEntries(Object.entries(m.grads).map(([k, v]) => [k, Float64Array.from(v)]));
  const bad: string[] = [];
  let nonzero = 0;
  for (const [k, p] of Object.entries(m.params))
    for (let i = 0; i < p.length; i++) {
      const v = p[i]!;
      p[i] = v + H;
      const up = m.lossAndGrad(inputs);
      p[i] = v - H;
      const down = m.lossAndGrad(inputs);
      p[i] = v;
      const numeric = (up - down) / (2 * H);
      if (Math.abs(numeric) > 1e-4) nonzero++;
      if (!(Math.abs(grads[k]![i]! - numeric) <= 1e-8 + 1e-6 * Math.abs(numeric))) bad.push(`${k}[${i}]: ${grads[k]![i]} vs ${numeric}`);
    }
  if (nonzero === 0) bad.push("every gradient is 0: the check would prove nothing");
  return bad;
}

function fill(m: GeneratedModel, seed: number) {
  const r = rng(seed);
  for (const p of Object.values(m.params)) for (let i = 0; i < p.length; i++) p[i] = (r() * 2 - 1) * 0.8;
}

/** A small tanh network u(t) on a batch of scalars. */
const net = (g: Builder, t: Node) => {
  const W1 = g.param("W1", [6, 1]);
  const b1 = g.param("b1", [6]);
  const W2 = g.param("W2", [1, 6]);
  return g.linear(g.tanh(g.linear(t, W1, b1)), W2);
};

describe("g.grad", () => {
  it("∂y/∂x as an output equals finite differences of y (first order)", async () => {
    const { mod, text } = await compileAndLoad(
      {
        dtype: "float64",
        build(g) {
          const t = g.input("t", [5, 1]);
          const u = net(g, t);
          const h = g.sum(u);
          const [dt_u] = g.grad(h, [t]);
          g.output("u", u);
          g.output("du", dt_u!);
          return g.mean(g.square(dt_u!));
        },
      },
      "grad-first",
    );
    const m = mod.createModel();
    fill(m, 3);
    const t = Float64Array.from({ length: 5 }, (_, i) => i / 4 - 0.5);
    const du = Float64Array.from(m.forward({ t }).du!);
    const numeric = t.map((_, i) => {
      const tp = Float64Array.from(t);
      tp[i] = t[i]! + H;
      const up = m.forward({ t: tp }).u![i]!;
      tp[i] = t[i]! - H;
      return (up - m.forward({ t: tp }).u![i]!) / (2 * H);
    });
    expect(maxRelErr(du, numeric, 1e-6)).toBeLessThan(1e-6);
    // the generated code names the first derivative as the model file does
    expect(text).toMatch(/dt_u/);
  });

  it("a loss built from g.grad of g.grad (second order) has param gradients equal to finite differences", async () => {
    const { mod } = await compileAndLoad(
      {
        dtype: "float64",
        build(g) {
          const t = g.input("t", [5, 1]);
          const u = net(g, t);
          const [ut] = g.grad(g.sum(u), [t]);
          const [utt] = g.grad(g.sum(ut!), [t]);
          // u'' + u = 0 as a residual
          return g.mean(g.square(g.add(utt!, u)));
        },
      },
      "grad-second",
    );
    const m = mod.createModel();
    fill(m, 5);
    const t = Float64Array.from({ length: 5 }, (_, i) => i / 4 - 0.5);
    expect(paramGradFailures(m, { t })).toEqual([]);
  });

  it("gradient penalty: ‖∂L/∂x‖² in the loss, through softplus, softmax cross-entropy and matmul", async () => {
    const { mod } = await compileAndLoad(
      {
        dtype: "float64",
        build(g) {
          const x = g.input("x", [4, 3]);
          const y = g.input("y", [4, 2]);
          const W1 = g.param("W1", [5, 3]);
          const W2 = g.param("W2", [2, 5]);
          const logits = g.linear(g.softplus(g.linear(x, W1)), W2);
          const ce = g.softmaxCrossEntropy(logits, g.softmax(y));
          const [dx] = g.grad(ce, [x]);
          return g.add(ce, g.mul(g.sum(g.square(dx!)), 10));
        },
      },
      "grad-penalty",
    );
    const m = mod.createModel();
    fill(m, 7);
    const r = rng(11);
    const x = Float64Array.from({ length: 12 }, () => r() * 2 - 1);
    const y = Float64Array.from({ length: 8 }, () => r() * 2 - 1);
    expect(paramGradFailures(m, { x, y })).toEqual([]);
  });

  it("w.r.t. params and an intermediate at once, in the order of xs", async () => {
    const { mod } = await compileAndLoad(
      {
        dtype: "float64",
        build(g) {
          const x = g.input("x", [3]);
          const W = g.param("W", [2, 3]);
          const z = g.linear(x, W);
          const y = g.sum(g.exp(z));
          const [dz, dW] = g.grad(y, [z, W]);
          g.output("dz", dz!);
          g.output("dW", dW!);
          g.output("z", z);
          return y;
        },
      },
      "grad-order",
    );
    const m = mod.createModel();
    fill(m, 2);
    const x = Float64Array.from([0.3, -0.2, 0.5]);
    const out = m.forward({ x });
    const z = Float64Array.from(out.z!);
    expect(maxRelErr(out.dz!, z.map(Math.exp), 1e-9)).toBeLessThan(1e-12);
    const dW = Float64Array.from(out.dW!);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) expect(dW[i * 3 + j]).toBeCloseTo(Math.exp(z[i]!) * x[j]!, 12);
  });
});

describe("g.customGrad", () => {
  it("the generated backward runs the user's rule: a straight-through estimator's gradient is the rule's, not the forward's", async () => {
    const { mod } = await compileAndLoad(
      {
        dtype: "float64",
        build(g) {
          const x = g.input("x", [4]);
          const W = g.param("W", [4]);
          // forward: sign(W) (derivative 0); rule: identity (straight through)
          const ste = g.customGrad((g, w) => g.sign(w), (_g, _ins, _out, dy) => [dy]);
          return g.sum(g.mul(ste(W), x));
        },
      },
      "custom-ste",
    );
    const m = mod.createModel();
    fill(m, 1);
    const x = Float64Array.from([1, -2, 3, 0.5]);
    const loss = m.lossAndGrad({ x });
    expect(loss).toBeCloseTo([...m.params.W!].reduce((a, w, i) => a + Math.sign(w) * x[i]!, 0), 12);
    expect([...m.grads.W!]).toEqual([...x]);
  });

  it("a correct rule (a stable softplus with sigmoid as its rule) passes the finite-difference check, also when differentiated again", async () => {
    const { mod, graph } = await compileAndLoad(
      {
        dtype: "float64",
        build(g) {
          const t = g.input("t", [5, 1]);
          const W = g.param("W", [3, 1]);
          const V = g.param("V", [1, 3]);
          const soft = g.customGrad(
            (g, z) => g.add(g.relu(z), g.log(g.add(1, g.exp(g.neg(g.abs(z)))))),
            (g, [z], _out, dy) => [g.mul(dy, g.sigmoid(z!))],
          );
          const u = g.linear(soft(g.linear(t, W)), V);
          const [ut] = g.grad(g.sum(u), [t]);
          return g.add(g.mean(g.square(ut!)), g.mean(g.square(u)));
        },
      },
      "custom-second",
    );
    // after the last differentiation the custom node is its forward: no kernel sees it
    expect(topo(roots(graph)).filter((n) => n.op === "customVjp")).toEqual([]);
    const m = mod.createModel();
    fill(m, 9);
    const t = Float64Array.from({ length: 5 }, (_, i) => i / 2 - 1);
    expect(paramGradFailures(m, { t })).toEqual([]);
  });
});

describe("explain of a second-order model", () => {
  it("sections the kernels by what they differentiate, with their lines and readable names", async () => {
    const { explain } = await import("../../src/explain/explain.js");
    const { ROOT } = await import("../support/helpers.js");
    const path = await import("node:path");
    const text = await explain(path.join(ROOT, "examples/models/pinn.model.ts"), ROOT);
    const sections = text.split("\n\n");
    const section = (title: string) => sections.find((s) => s.startsWith(title)) ?? "";
    expect(section("forward\n")).toMatch(/u = .*examples\/models\/pinn\.model\.ts:19/);
    expect(section("forward\n")).not.toMatch(/\bd\w+ = /);
    // u'(t) and u''(t), computed in the forward because the loss uses them
    expect(section("forward, g.grad: differentiating the forward (first derivatives)")).toMatch(/u_sub = 1 − u_tanh_2²/);
    expect(section("forward, g.grad: differentiating first derivatives again (order 2)")).toMatch(/ddu_add = du·W1ᵀ/);
    // u''(t) itself is a second derivative, though it is taken at t (a forward value): so are the parts that make it
    expect(section("forward, g.grad: differentiating first derivatives again (order 2)")).toMatch(/dt_dt_u = .*examples\/models\/pinn\.model\.ts:24/);
    expect(section("forward, g.grad: differentiating the forward (first derivatives)")).not.toMatch(/dt_dt_u|du_tanh_3/);
    // the boundary term holds no derivative: its backward is first order; the residual's (u'' + u) is third order,
    // and so are the param gradients that sum parts of it
    expect(section("backward: differentiating the forward (first derivatives)")).toMatch(/dloss_sub = /);
    expect(section("backward: differentiating the forward (first derivatives)")).not.toMatch(/dW1 = |dresidual/);
    expect(section("backward: differentiating second derivatives again (order 3)")).toMatch(/dresidual = .*pinn\.model\.ts:25/);
    expect(section("backward: differentiating second derivatives again (order 3)")).toMatch(/dW1 = /);
    expect(section("backward: differentiating second derivatives again (order 3)")).toMatch(/\(\d+\) d+u_/);
  });
});
