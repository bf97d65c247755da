/**
 * The max-pooling rewrites of src/passes/simplify.ts beyond their before/after cases
 * (test/passes/simplify.test.ts): where they must NOT fire (a broadcast or unbounded mask, a sum
 * that keeps a plane axis, the forward's own pooled value), that the whole table reaches a fixed
 * point on a conv → relu → max-pool network, and that the rewritten network computes what the
 * unrewritten one does: the interpreter on both graphs, and the generated float64 code's gradients
 * against central differences, windows apart and overlapping.
 */
import { describe, expect, it } from "vitest";
import type { Builder } from "../../src/dsl/builder.js";
import type { ModelDefinition } from "../../src/dsl/define.js";
import { buildModel } from "../../src/front/build.js";
import { defineModel } from "../../src/index.js";
import type { Graph, Node } from "../../src/ir/graph.js";
import { differentiate } from "../../src/autodiff/grad.js";
import { runPipeline, type PassLog } from "../../src/passes/pipeline.js";
import { rules, simplify, type Rewrite } from "../../src/passes/simplify.js";
import { compileAndLoad, maxRelErr, rng } from "../support/helpers.js";
import { graphOf, rootValues, sampleValues } from "../support/graphs.js";

const SCATTER_MASK = "maxpool_transpose(h at idx) ⊙ m → maxpool_transpose((h ⊙ m[idx]) at idx)";
const GATHER_F = "f(z)[idx] → f(z[idx])";
const SUM_SCATTER = "Σ[plane axes…](maxpool_transpose(h at idx)) → Σ[plane axes…](h)";
const POOL_LAWS = [SCATTER_MASK, GATHER_F, SUM_SCATTER];

const pool2 = { kernel: [2, 2], stride: [2, 2], padding: [0, 0] };
const scatter = (g: Builder, lead: number[] = [1]) => {
  const idx = g.apply("maxPool2dIndex", [g.input("x", [...lead, 4, 4])], pool2);
  return g.apply("maxPool2dGrad", [g.input("h", [...lead, 2, 2]), idx], { shape: [...lead, 4, 4] });
};
/** The laws the whole table fires on `build`'s graph. */
const fired = (build: (g: Builder) => void): string[] => {
  const log: Rewrite[] = [];
  simplify(graphOf(build), log);
  return log.map((r) => r.law);
};

describe("the max-pooling rewrites do not fire where they are wrong", () => {
  it("scatter ⊙ m: not for a mask that broadcasts, nor one that can be ∞ or NaN (0·NaN at a cell no window picked must stay NaN)", () => {
    // m [4] broadcasts over [1, 4, 4]: m[idx] would need the broadcast first
    expect(fired((g) => void g.output("y", g.mul(scatter(g), g.heaviside(g.input("z", [4])))))).not.toContain(SCATTER_MASK);
    // exp(z) and 1/z are unbounded; relu'(z)·1e300·1e300 overflows to ∞ where z > 0
    expect(fired((g) => void g.output("y", g.mul(scatter(g), g.exp(g.input("z", [1, 4, 4])))))).not.toContain(SCATTER_MASK);
    expect(fired((g) => void g.output("y", g.mul(scatter(g), g.div(1, g.input("z", [1, 4, 4])))))).not.toContain(SCATTER_MASK);
    expect(fired((g) => void g.output("y", g.mul(scatter(g), g.mul(g.mul(g.heaviside(g.input("z", [1, 4, 4])), 1e300), 1e300))))).not.toContain(SCATTER_MASK);
    // a scatter that broadcasts against a larger m keeps its product
    expect(fired((g) => void g.output("y", g.mul(scatter(g), g.heaviside(g.input("z", [3, 1, 4, 4])))))).not.toContain(SCATTER_MASK);
    // leaky relu's derivative relu'(z)·(1 − α) + α is bounded: it fires, on either side of the product
    const leaky = (g: Builder) => g.add(g.mul(g.heaviside(g.input("z", [1, 4, 4])), 0.9), 0.1);
    expect(fired((g) => void g.output("y", g.mul(leaky(g), scatter(g))))).toContain(SCATTER_MASK);
  });

  it("Σ of a scatter: not when the sum keeps a plane axis, nor for a max", () => {
    for (const axes of [[0], [0, 1], [0, 2], [1], [2]]) expect(fired((g) => void g.output("y", g.sum(scatter(g, [2]), axes))), `axes ${axes}`).not.toContain(SUM_SCATTER);
    expect(fired((g) => void g.output("y", g.max(scatter(g, [2]), [1, 2])))).not.toContain(SUM_SCATTER);
    expect(fired((g) => void g.output("y", g.sum(scatter(g, [2]), [0, 1, 2])))).toContain(SUM_SCATTER);
  });

  it("f(z)[idx]: not the forward's own pooled relu(z)[idx] (z[idx] is not computed; relu(z) is, for the index)", () => {
    const laws = fired((g) => {
      const a = g.relu(g.input("z", [1, 4, 4]));
      g.output("p", g.apply("maxPool2dGather", [a, g.apply("maxPool2dIndex", [a], pool2)]));
    });
    expect(laws).not.toContain(GATHER_F);
    // down a chain of unary ops to a gather that exists: relu'(−(−a))[idx] → relu'(a[idx]) (with −(−x) → x)
    const chain = fired((g) => {
      const a = g.relu(g.input("z", [1, 4, 4]));
      const idx = g.apply("maxPool2dIndex", [a], pool2);
      g.output("p", g.apply("maxPool2dGather", [a, idx]));
      g.output("m", g.apply("maxPool2dGather", [g.exp(g.tanh(a)), idx]));
    });
    expect(chain).toContain(GATHER_F);
  });
});

/** conv2d → activation → maxPool2d, twice, → Σ(p ⊙ r): the W4 pattern, small. */
const net = (pool: { k: number; s: number; p: number }, act: "relu" | "leakyRelu"): ModelDefinition => ({
  dtype: "float64",
  build(g) {
    const x = g.input("x", [2, 2, 10, 10]);
    const W1 = g.param("W1", [3, 2, 3, 3], { init: "normal", std: 0.5 });
    const b1 = g.param("b1", [3], { init: "normal", std: 0.5 });
    const W2 = g.param("W2", [2, 3, 2, 2], { init: "normal", std: 0.5 });
    const b2 = g.param("b2", [2], { init: "normal", std: 0.5 });
    const f = (z: Node) => (act === "relu" ? g.relu(z) : g.leakyRelu(z, 0.1));
    const p1 = g.maxPool2d(f(g.conv2d(x, W1, b1)), pool.k, { stride: pool.s, padding: pool.p });
    const p2 = g.maxPool2d(f(g.conv2d(p1, W2, b2)), 2);
    g.output("p2", p2);
    return g.sum(g.mul(p2, g.input("r", [...p2.shape])));
  },
});
const POOLS = [
  { k: 2, s: 2, p: 0 },
  { k: 3, s: 1, p: 1 },
];

describe("a conv → relu → max-pool network, rewritten", () => {
  const graphs = (def: ModelDefinition): { before: Graph; after: Graph; log: PassLog } => {
    const log: PassLog = { rewrites: [] };
    const after = runPipeline(buildModel(defineModel(def), "m").graph, log);
    return { before: differentiate(buildModel(defineModel(def), "m").graph), after, log };
  };

  for (const pool of POOLS)
    for (const act of ["relu", "leakyRelu"] as const)
      it(`${pool.k}×${pool.k} windows at stride ${pool.s}, ${act}: the laws fire, the table reaches a fixed point, the interpreter's values are the unrewritten graph's`, () => {
        const { before, after, log } = graphs(net(pool, act));
        const laws = new Set(log.rewrites.map((r) => r.law));
        // leaky relu's mask is relu'(z)·0.9 + 0.1 of the conv's z, whose pooled value no kernel computes: it stays m[idx]
        for (const law of act === "relu" ? POOL_LAWS : [SCATTER_MASK, SUM_SCATTER]) expect(laws.has(law), law).toBe(true);
        const again: Rewrite[] = [];
        simplify(after, again);
        expect(again.map((r) => r.law)).toEqual([]);
        for (const seed of [1, 2]) {
          const values = sampleValues(before, seed);
          const [a, b] = [rootValues(after, values), rootValues(before, values)];
          expect(a.map((r) => r.name)).toEqual(b.map((r) => r.name));
          for (let i = 0; i < b.length; i++) expect(maxRelErr(a[i]!.values, b[i]!.values), b[i]!.name).toBeLessThanOrEqual(1e-13);
        }
      });

  it("the generated float64 code's gradients equal central differences (windows apart and overlapping)", async () => {
    for (const pool of POOLS) {
      const { mod, text } = await compileAndLoad(net(pool, "relu"), `poolRules${pool.k}`);
      // the mask multiplies the pooled gradient, and the bias gradient sums it (no full-size product)
      expect(text).toMatch(/= dp1 ⊙ relu'\(p1\) {3}\[2×3×\d+×\d+\]/);
      const m = mod.createModel({ seed: 3 });
      const rand = rng(7);
      const x = Float64Array.from({ length: 2 * 2 * 10 * 10 }, () => rand() * 2 - 1);
      const r = Float64Array.from({ length: m.forward({ x }).p2!.length }, () => rand() * 2 - 1);
      m.lossAndGrad({ x, r });
      for (const name of ["W1", "b1", "W2", "b2"]) {
        const param = m.params[name]!;
        const grad = Float64Array.from(m.grads[name]!);
        for (let i = 0; i < param.length; i++) {
          const v = param[i]!;
          param[i] = v + 1e-6;
          const up = m.lossAndGrad({ x, r });
          param[i] = v - 1e-6;
          const down = m.lossAndGrad({ x, r });
          param[i] = v;
          const fd = (up - down) / 2e-6;
          expect(Math.abs(grad[i]! - fd), `${pool.k}×${pool.k}: ${name}[${i}]`).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(fd));
        }
      }
    }
  });
});

/**
 * Negative control: plant one wrong version of each rule at a time and show that the interpreter's
 * comparison of the rewritten graph with the unrewritten one (on the networks above and on the
 * graphs where a rule must not fire) catches it. A check that cannot fail proves nothing.
 */
describe("planted bugs in the max-pooling rewrites are caught", () => {
  /** Whether `after` computes other values than `before` (or other roots, or other lengths). */
  const differs = (before: Graph, after: Graph): boolean => {
    const values = sampleValues(before, 3);
    const [a, b] = [rootValues(after, values), rootValues(before, values)];
    if (a.map((r) => r.name).join() !== b.map((r) => r.name).join()) return true;
    return b.some((r, i) => r.values.length !== a[i]!.values.length || !(maxRelErr(a[i]!.values, r.values) <= 1e-13));
  };
  const probes: (() => boolean)[] = [
    ...POOLS.map((pool) => () => {
      const def = defineModel(net(pool, "relu"));
      return differs(differentiate(buildModel(def, "m").graph), runPipeline(buildModel(def, "m").graph));
    }),
    ...[
      (g: Builder) => void g.output("y", g.sum(scatter(g, [2]), [0, 1])),
      // every h ≤ −1, so a plane's maximum is one of the scatter's zeros, not max(h)
      (g: Builder) => {
        const idx = g.apply("maxPool2dIndex", [g.input("x", [2, 4, 4])], pool2);
        const h = g.sub(g.neg(g.abs(g.input("h", [2, 2, 2]))), 1);
        g.output("y", g.max(g.apply("maxPool2dGrad", [h, idx], { shape: [2, 4, 4] }), [1, 2]));
      },
      (g: Builder) => void g.output("y", g.sum(g.mul(scatter(g, [2]), g.heaviside(g.input("z", [2, 4, 4]))), [0, 2])),
    ].map((build) => () => {
      const before = graphOf(build);
      return differs(before, simplify(before));
    }),
  ];
  const rule = (law: string) => rules.find((r) => r.law === law)!;
  const mutants: { name: string; law: string; apply: (orig: (typeof rules)[number]["apply"]) => (typeof rules)[number]["apply"] }[] = [
    { name: "scatter ⊙ m: the mask dropped (the scatter alone)", law: SCATTER_MASK, apply: (orig) => (n, c) => (orig(n, c) ? n.inputs.find((i) => i.op === "maxPool2dGrad") : undefined) },
    { name: "f(z)[idx]: f dropped (z[idx] alone)", law: GATHER_F, apply: (orig) => (n, c) => orig(n, c)?.inputs[0] },
    {
      name: "Σ of a scatter: fires when either plane axis is summed",
      law: SUM_SCATTER,
      apply: () => (n, c) => {
        if (n.op !== "sum" || n.inputs[0]!.op !== "maxPool2dGrad") return undefined;
        const r = n.inputs[0]!.shape.length;
        const axes = n.attrs.axes as number[];
        return axes.includes(r - 2) || axes.includes(r - 1) ? c.make("sum", [n.inputs[0]!.inputs[0]!], { ...n.attrs }) : undefined;
      },
    },
    {
      name: "Σ of a scatter: a max over the planes too",
      law: SUM_SCATTER,
      apply: (orig) => (n, c) => (n.op === "max" && n.inputs[0]!.op === "maxPool2dGrad" ? c.make("max", [n.inputs[0]!.inputs[0]!], { ...n.attrs }) : orig(n, c)),
    },
  ];
  it("without a planted bug, every probe agrees", () => {
    expect(probes.map((p) => p())).toEqual(probes.map(() => false));
  });
  for (const m of mutants)
    it(m.name, () => {
      const r = rule(m.law);
      const orig = r.apply;
      r.apply = m.apply(orig);
      try {
        expect(probes.some((p) => p())).toBe(true);
      } finally {
        r.apply = orig;
      }
    });
});
