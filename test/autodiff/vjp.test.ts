/**
 * Differentiation as a transformation: vjp(ctx, roots, cotangents, wrt) checked against central
 * finite differences through the float64 interpreter, for an intermediate, an input, several
 * roots with cotangents, and a second derivative (vjp of a graph that holds a vjp result).
 */
import { describe, expect, it } from "vitest";
import { vjp } from "../../src/autodiff/vjp.js";
import { makeBuilder, type Builder } from "../../src/dsl/builder.js";
import { buildModel } from "../../src/front/build.js";
import { defineModel } from "../../src/index.js";
import { topo, type Graph, type Node } from "../../src/ir/graph.js";
import { size } from "../../src/ir/shape.js";
import { evaluate, type Values } from "../../src/interp/interp.js";
import { pipeline, runPipeline } from "../../src/passes/pipeline.js";
import { rules } from "../../src/passes/simplify.js";
import { rng } from "../support/helpers.js";

const EPS = 1e-6;
/** |analytic − numeric| ≤ 1e-7·max(1, |numeric|): central differences in float64 are good to ~1e-9 here. */
function expectClose(analytic: ArrayLike<number>, numeric: ArrayLike<number>, what: string) {
  expect(analytic.length, `${what}: length`).toBe(numeric.length);
  for (let i = 0; i < numeric.length; i++) {
    const tol = 1e-7 * Math.max(1, Math.abs(numeric[i]!));
    expect(Math.abs(analytic[i]! - numeric[i]!), `${what}[${i}]: ${analytic[i]} vs ${numeric[i]}`).toBeLessThanOrEqual(tol);
  }
}

const randomValues = (n: number, rand: () => number) => Float64Array.from({ length: n }, () => rand() * 2 - 1);

/** A float64 model graph, a builder over its context, and random values for its inputs and params. */
function setup(build: (g: Builder) => Record<string, Node>, seed = 1) {
  let named: Record<string, Node> = {};
  const { graph } = buildModel(
    defineModel({
      dtype: "float64",
      build(g) {
        named = build(g);
        for (const [k, n] of Object.entries(named)) g.output(k, n);
      },
    }),
    "t",
  );
  const rand = rng(seed);
  const vals = (m: ReadonlyMap<string, Node>): Values => Object.fromEntries([...m].map(([k, n]) => [k, randomValues(size(n.shape), rand)]));
  return { graph, b: makeBuilder(graph.ctx), n: named, inputs: vals(graph.inputs), params: vals(graph.params) };
}

/**
 * Numeric ∂objective/∂w: `objective(given)` evaluates the function with w's value replaced by
 * `given` (for an intermediate, its producers are held fixed: the partial derivative vjp gives).
 */
function numericGrad(w: Node, base: Float64Array, objective: (wv: Float64Array) => number): Float64Array {
  const out = new Float64Array(base.length);
  for (let i = 0; i < base.length; i++) {
    const p = Float64Array.from(base);
    const m = Float64Array.from(base);
    p[i] = base[i]! + EPS;
    m[i] = base[i]! - EPS;
    out[i] = (objective(p) - objective(m)) / (2 * EPS);
  }
  return out;
}

/** ⟨roots, cotangents⟩ evaluated by the interpreter with `w` given the value `wv`. */
function pairing(g: Graph, inputs: Values, params: Values, roots: Node[], cots: Float64Array[], w: Node, wv: Float64Array): number {
  const vals = evaluate(roots, inputs, params, { given: new Map([[w, wv]]) });
  return roots.reduce((acc, r, k) => acc + vals.get(r)!.reduce((s, v, i) => s + v * cots[k]![i]!, 0), 0);
}

/** Check vjp(roots, cotangents, wrt) against finite differences for every w. */
function checkVjp(s: ReturnType<typeof setup>, roots: Node[], wrt: Node[], seed = 7) {
  const rand = rng(seed);
  const cotVals = roots.map((r) => randomValues(size(r.shape), rand));
  const cots = cotVals.map((v, k) => s.b.constant([...v], [...roots[k]!.shape]));
  const ds = vjp(s.graph.ctx, roots, cots, wrt);
  expect(ds.map((d) => d.shape)).toEqual(wrt.map((w) => w.shape));
  const vals = evaluate([...ds, ...wrt], s.inputs, s.params);
  wrt.forEach((w, k) => {
    const numeric = numericGrad(w, vals.get(w)!, (wv) => pairing(s.graph, s.inputs, s.params, roots, cotVals, w, wv));
    expectClose(vals.get(ds[k]!)!, numeric, `d/d(${w.op}#${w.id})`);
    // a real check: the gradient is not zero
    expect(numeric.some((v) => Math.abs(v) > 1e-3), `d/d(${w.op}#${w.id}) is not trivially zero`).toBe(true);
  });
  return ds;
}

/** z = x·Wᵀ + b read twice (fan-in), h = tanh(z), y = Σ h ⊙ h + Σ z·2 + Σ exp(z). */
const net = (g: Builder) => {
  const x = g.input("x", [3, 4]);
  const W = g.param("W", [2, 4]);
  const z = g.linear(x, W, g.param("b", [2]));
  const h = g.tanh(z);
  const y = g.add(g.sum(g.mul(h, h)), g.add(g.sum(g.mul(z, 2)), g.sum(g.exp(z))));
  return { x, W, z, h, y };
};

describe("vjp(roots, cotangents, wrt)", () => {
  it("with respect to an intermediate", () => {
    const s = setup(net);
    checkVjp(s, [s.n.y!], [s.n.z!]);
  });

  it("with respect to an input", () => {
    const s = setup(net);
    checkVjp(s, [s.n.y!], [s.n.x!]);
  });

  it("of several roots with cotangents, w.r.t. a param, an input and an intermediate at once", () => {
    const s = setup(net);
    checkVjp(s, [s.n.h!, s.n.y!, s.n.z!], [s.n.W!, s.n.x!, s.n.z!, s.n.h!]);
  });

  it("a tensor the roots do not reach gets zeros; int32 tensors have no gradient", () => {
    const s = setup((g) => ({ ...net(g), unused: g.mul(g.param("U", [5]), 1), ids: g.input("ids", [3], { dtype: "int32" }) }));
    const U = s.graph.params.get("U")!;
    const [dU] = vjp(s.graph.ctx, [s.n.y!], [s.b.constant(1)], [U]);
    expect([...evaluate([dU!], s.inputs, s.params).get(dU!)!]).toEqual([0, 0, 0, 0, 0]);
    expect(() => vjp(s.graph.ctx, [s.n.y!], [s.b.constant(1)], [s.n.ids!])).toThrow("wrt 0 is an int32 tensor [3]: integer tensors carry no gradient");
    // no node of a gradient is an integer node
    const [dx] = vjp(s.graph.ctx, [s.n.y!], [s.b.constant(1)], [s.n.x!]);
    for (const n of topo([dx!])) expect(n.dtype).toBe("float64");
  });

  it("composes: the derivative of (∂/∂x Σ tanh(W·x))ᵀ·v equals finite differences of the first derivative (a Hessian-vector product)", () => {
    const s = setup((g) => {
      const x = g.input("x", [4]);
      return { x, f: g.sum(g.tanh(g.matmul(g.param("W", [3, 4]), x))) };
    });
    const { x, f } = s.n as { x: Node; f: Node };
    const rand = rng(3);
    const v = randomValues(4, rand);
    // first derivative as graph nodes, then a scalar built from it, then its derivative
    const [gx] = vjp(s.graph.ctx, [f], [s.b.constant(1)], [x]);
    const gv = s.b.sum(s.b.mul(gx!, s.b.constant([...v], [4])));
    const [hv] = vjp(s.graph.ctx, [gv], [s.b.constant(1)], [x]);
    const x0 = Float64Array.from(s.inputs.x!);
    const firstAt = (xv: Float64Array) => evaluate([gx!], { x: xv }, s.params).get(gx!)!;
    const plus = firstAt(x0.map((xi, i) => xi + EPS * v[i]!));
    const minus = firstAt(x0.map((xi, i) => xi - EPS * v[i]!));
    const numeric = plus.map((p, i) => (p - minus[i]!) / (2 * EPS));
    const analytic = evaluate([hv!], s.inputs, s.params).get(hv!)!;
    expectClose(analytic, numeric, "H·v");
    // W mixes the axes: the Hessian is not diagonal, so H·v is not v ⊙ diag(H)
    expect(numeric.some((h) => Math.abs(h) > 1e-3)).toBe(true);
  });

  it("composes through stopGradient (a hand-written stable logSoftmax) before any simplification", () => {
    const s = setup((g) => {
      const x = g.input("x", [2, 3]);
      // (x − m) − log Σ exp(x − m) with the shift m stopped: its true gradient is 0
      const shifted = g.sub(x, g.stopGradient(g.max(x, 1, true)));
      const lsm = g.sub(shifted, g.log(g.sum(g.exp(shifted), 1, true)));
      return { x, f: g.sum(g.mul(lsm, g.constant([0.3, -1, 2, 0.5, 1, -0.7], [2, 3]))) };
    });
    const { x, f } = s.n as { x: Node; f: Node };
    expect(topo([f]).some((n) => n.op === "stopGradient")).toBe(true);
    const [gx] = vjp(s.graph.ctx, [f], [s.b.constant(1)], [x]);
    // second order w.r.t. x, checked against finite differences of the first derivative
    const s2 = { ...s, n: { ...s.n, gx: gx! } };
    checkVjp(s2, [gx!], [x], 11);
  });

  it("composes through logSumExp (whose derivative is softmax)", () => {
    const s = setup((g) => {
      const x = g.input("x", [2, 3]);
      return { x, f: g.sum(g.mul(g.logSumExp(x, 1), g.constant([0.3, -1], [2, 1]))) };
    });
    const { x, f } = s.n as { x: Node; f: Node };
    expect(topo([f]).some((n) => n.op === "logSumExp")).toBe(true);
    const [gx] = vjp(s.graph.ctx, [f], [s.b.constant(1)], [x]);
    checkVjp(s, [f], [x], 12);
    const s2 = { ...s, n: { ...s.n, gx: gx! } };
    checkVjp(s2, [gx!], [x], 13);
  });
});

describe("the pipeline's differentiation", () => {
  it("stop(x) → x runs in its own pass after the last differentiation, not in simplify", () => {
    const names = pipeline.map((p) => p.name);
    expect(names.indexOf("dropStopGradients")).toBeGreaterThan(names.lastIndexOf("differentiate"));
    expect(rules.map((r) => r.law)).not.toContain("stop(x) → x");
    const { graph } = buildModel(
      defineModel({
        build(g) {
          const z = g.linear(g.input("x", [2, 3]), g.param("W", [4, 3]));
          return g.sum(g.square(g.sub(z, g.stopGradient(g.max(z)))));
        },
      }),
      "t",
    );
    expect(topo([graph.loss!]).some((n) => n.op === "stopGradient")).toBe(true);
    const after = runPipeline(graph);
    expect(topo([after.loss!, ...after.grads.values()]).some((n) => n.op === "stopGradient")).toBe(false);
  });
});
