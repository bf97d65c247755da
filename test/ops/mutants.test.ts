/**
 * Negative control: plant one wrong derivative at a time (flipped sign, dropped term, missing
 * transpose, wrong reduction axis, missing fan-in sum, ...) and show that the gradient check of
 * the registry table test catches every one. A check that cannot fail proves nothing.
 */
import { afterEach, describe, expect, it } from "vitest";
import { fanIn } from "../../src/autodiff/grad.js";
import type { Builder } from "../../src/dsl/builder.js";
import type { Node } from "../../src/ir/graph.js";
import { registry } from "../../src/ops/index.js";
import type { Primitive, VjpArgs } from "../../src/ops/types.js";
import type { KernelWriter } from "../../src/lower/view.js";
import { cases } from "../support/ops.cases.js";
import { compileCase, fillParams, gradientCheck } from "../support/gradcheck.js";
import { maxRelErr, rng } from "../support/helpers.js";

type Vjp = Primitive["vjp"];
interface Mutant {
  name: string;
  /** "value": a planted bug in a composite's forward (gradients stay consistent), caught by the cases' plain-loop references. */
  check?: "value";
  /** The ops whose cases the check runs (the mutated op, or the ops that exercise it). */
  ops: (keyof typeof cases)[];
  apply(): () => void;
}

/** Replace an op's vjp with a mutation of the original; returns the undo. */
function mutateVjp(op: keyof typeof registry, mutate: (orig: Vjp) => Vjp): () => void {
  const def = registry[op] as unknown as Primitive;
  const orig = def.vjp;
  def.vjp = mutate(orig);
  return () => {
    def.vjp = orig;
  };
}

const flip = (op: keyof typeof registry & keyof typeof cases, k: number): Mutant => ({
  name: `${op}: flipped sign of d/d(input ${k})`,
  ops: [op],
  apply: () => mutateVjp(op, (orig) => (args, b) => orig(args, b).map((d, i) => (i === k && d ? b.neg(d) : d))),
});
const drop = (op: keyof typeof registry & keyof typeof cases, k: number): Mutant => ({
  name: `${op}: dropped d/d(input ${k})`,
  ops: [op],
  apply: () => mutateVjp(op, (orig) => (args, b) => orig(args, b).map((d, i) => (i === k ? null : d))),
});
const scale = (op: keyof typeof registry & keyof typeof cases, k: number, by: number): Mutant => ({
  name: `${op}: d/d(input ${k}) scaled by ${by}`,
  ops: [op],
  apply: () => mutateVjp(op, (orig) => (args, b) => orig(args, b).map((d, i) => (i === k && d ? b.mul(d, by) : d))),
});
const replace = (name: string, op: keyof typeof registry & keyof typeof cases, vjp: (args: VjpArgs, b: Builder) => (Node | null)[], ops = [op]): Mutant => ({
  name,
  ops,
  apply: () => mutateVjp(op, () => vjp),
});

/** Batch norm's pieces built from primitives, for the mutated rules: the channel mean, 1/√(σ² + ε) and x̂ (σ² biased unless `unbiased`). */
function bnParts(b: Builder, x: Node, eps: number, unbiased = false) {
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const m = x.shape.reduce((a, d) => a * d, 1) / x.shape[1]!;
  const mean = (t: Node) => b.mean(t, axes, true);
  const c = b.sub(x, mean(x));
  const v = mean(b.square(c));
  const s = b.div(1, b.sqrt(b.add(unbiased ? b.mul(v, m / (m - 1)) : v, eps)));
  return { mean, s, xhat: b.mul(c, s) };
}

/** Replace a composite's forward (a planted bug in its equations): the value check must notice. */
const swapGate = (name: string, op: "lstmCell" | "gruCell", call: (b: Builder, args: (Node | undefined)[]) => unknown): Mutant => ({
  name,
  ops: [op],
  check: "value",
  apply: () => {
    const def = registry[op] as unknown as { call: (b: Builder, ...args: unknown[]) => unknown };
    const orig = def.call;
    def.call = (b, ...args) => call(b, args.map((a) => (a === undefined ? undefined : b.lift(a as Node))));
    return () => {
      def.call = orig;
    };
  },
});

/**
 * Plant a bug in the lines a primitive's kernel writes (`plant` rewrites one line; the lines it
 * changes are counted, so a mutant that matched nothing fails instead of passing as "caught").
 */
function plantInKernel(name: string, op: keyof typeof registry, check: "value" | "gradient", ops: (keyof typeof cases)[], plant: (line: string) => string): Mutant {
  return {
    name,
    ops,
    ...(check === "value" && { check }),
    apply: () => {
      const lower = (registry[op] as unknown as Primitive).lower as { emit: (w: KernelWriter, ...rest: never[]) => void };
      const orig = lower.emit;
      let planted = 0;
      const edit = (t: string) => {
        const u = plant(t);
        if (u !== t) planted++;
        return u;
      };
      lower.emit = (w, ...rest) => orig(Object.assign(Object.create(w) as KernelWriter, { line: (t: string) => w.line(edit(t)), block: (head: string, body: () => void) => w.block(edit(head), body) }), ...rest);
      return () => {
        lower.emit = orig;
        if (!planted) throw new Error(`the ${op} mutant matched no line of the kernel`);
      };
    },
  };
}

/** The forward values of a case against its plain-loop reference (the op table's check): the failures. */
async function valueCheck(op: string, c: (typeof cases)[keyof typeof cases][number], ci: number): Promise<string[]> {
  const { mod } = await compileCase(op, c, ci);
  const m = mod.createModel();
  fillParams(m, c, rng(ci + 7));
  const got = m.forward({}).out!;
  const want = c.ref!(c.shapes.map((_, i) => Float64Array.from(m.params[`p${i}`]!)), {});
  const e = maxRelErr(got, want, 1e-300);
  return e < 1e-12 ? [] : [`forward differs from the reference by ${e.toExponential(2)}`];
}

const mutants: Mutant[] = [
  // flipped signs
  flip("add", 0), flip("add", 1), flip("sub", 1), flip("mul", 0), flip("mul", 1), flip("div", 0), flip("div", 1),
  flip("exp", 0), flip("log", 0), flip("sqrt", 0), flip("tanh", 0), flip("sigmoid", 0), flip("relu", 0), flip("softplus", 0),
  flip("square", 0), flip("abs", 0), flip("pow", 0), flip("leakyRelu", 0), flip("neg", 0), flip("maximum", 0), flip("minimum", 1),
  flip("matmul", 0), flip("matmul", 1), flip("bceTerm", 0), flip("transpose", 0), flip("reshape", 0), flip("broadcastTo", 0),
  flip("sum", 0), flip("max", 0),
  // dropped terms
  drop("mul", 1), drop("div", 1), drop("sub", 0), drop("maximum", 1), drop("matmul", 0),
  replace("tanh: 1 − y instead of 1 − y² (dropped square)", "tanh", ({ out, dy }, b) => [b.mul(dy, b.sub(1, out))]),
  replace("sigmoid: y instead of y(1 − y) (dropped factor)", "sigmoid", ({ out, dy }, b) => [b.mul(dy, out)]),
  replace("softplus: gradient 1 instead of σ(x) (dropped factor)", "softplus", ({ dy }) => [dy]),
  replace("pow: missing exponent factor p·", "pow", ({ inputs: [x], dy, attrs }, b) => [b.mul(dy, b.pow(x!, (attrs.exponent as number) - 1))]),
  replace("leakyRelu: slope ignored (plain relu')", "leakyRelu", ({ inputs: [x], dy }, b) => [b.mul(dy, b.heaviside(x!))]),
  replace("relu: mask from the wrong side (x < 0)", "relu", ({ inputs: [x], dy }, b) => [b.mul(dy, b.heaviside(b.neg(x!)))]),
  // wrong constants
  scale("square", 0, 0.5), scale("sqrt", 0, 2), scale("exp", 0, 1.01),
  // missing transposes
  replace("matmul: dA = g·B (missing transpose of B)", "matmul", ({ inputs, dy: g }, b) => {
    const [x, y] = inputs as readonly [Node, Node];
    return x.shape.length === 2 && y.shape.length === 2 && y.shape[0] === y.shape[1] ? [b.matmul(g, y), b.matmul(b.transpose(x), g)] : [b.matmul(g, b.transpose(y)), null];
  }, ["matmul", "linear"]),
  replace("transpose: gradient permuted by perm instead of its inverse", "transpose", ({ dy, attrs }, b) => [b.transpose(dy, attrs.perm as number[])]),
  // conv backward (conv2d is pad → conv → add; conv's vjp is convInputGrad and convWeightGrad): the conv op table must catch each
  replace("conv backward: dX = conv_transpose(dZ, W) with the kernel transposed (kh ↔ kw)", "conv", ({ inputs: [x, W], dy, attrs }, b) => {
    const k = W!.shape.slice(2);
    const Wt = k.length === 2 && k[0] === k[1] ? b.transpose(W!, [0, 1, 3, 2]) : W!;
    return [b.apply("convInputGrad", [dy, Wt], { ...attrs, shape: [...x!.shape] }), b.apply("convWeightGrad", [dy, x!], { ...attrs, shape: [...W!.shape] })];
  }, ["conv2d"]),
  replace("conv backward: dW = dZ ⋆ X with the kernel transposed (kh ↔ kw)", "conv", ({ inputs: [x, W], dy, attrs }, b) => {
    const k = W!.shape.slice(2);
    const dW = b.apply("convWeightGrad", [dy, x!], { ...attrs, shape: [...W!.shape] });
    return [b.apply("convInputGrad", [dy, W!], { ...attrs, shape: [...x!.shape] }), k.length === 2 && k[0] === k[1] ? b.transpose(dW, [0, 1, 3, 2]) : dW];
  }, ["conv2d"]),
  // wrong reduction axis
  replace("sum: gradient reduced over the kept axes instead of broadcast (wrong axis)", "sum", ({ inputs: [x], dy }, b) => [b.broadcastTo(b.mean(dy), [...x!.shape])], ["sum", "mean"]),
  replace("max: gradient to every element instead of the first maximum", "max", ({ inputs: [x], dy, attrs }, b) => {
    const axes = attrs.axes as number[];
    const kept = x!.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    return [b.broadcastTo(b.reshape(dy, kept), [...x!.shape])];
  }, ["max"]),
  // integer ops: the gather's adjoint (embedding ↔ scatterAdd) and crossEntropy's ignored labels
  flip("embedding", 1), drop("embedding", 1), flip("scatterAdd", 0),
  replace("embedding: dtable scattered to the wrong rows (id + 1)", "embedding", ({ inputs: [ids, table], dy }, b) => {
    // the rows of dy moved down by one: dtable[k + 1] = Σ of the rows of dy whose id is k (the last row's sum lost)
    const rows = table!.shape[0]!;
    const s = b.scatterAdd(dy, ids!, rows);
    return [null, rows > 1 ? b.pad(b.slice(s, 0, 0, rows - 1), [[1, 0], [0, 0]]) : b.mul(s, 0)];
  }),
  {
    name: "scatterAdd: repeated ids keep the last row instead of adding (= instead of +=)",
    ops: ["embedding", "scatterAdd"],
    apply: () => {
      const lower = registry.scatterAdd.lower as { emit: (w: KernelWriter, ...rest: never[]) => void };
      const orig = lower.emit;
      let planted = 0;
      const plant = (t: string) => t.replace(/ = ([^=]+?)! \+ /, () => (planted++, " = "));
      lower.emit = (w, ...rest) => orig(Object.assign(Object.create(w) as KernelWriter, { line: (t: string) => w.line(plant(t)) }), ...rest);
      return () => {
        lower.emit = orig;
        // a mutant that changed nothing would be "caught" by nothing: make sure the bug was planted
        if (!planted) throw new Error("the scatterAdd mutant matched no line of the kernel");
      };
    },
  },
  // pooling's kernels: the first maximum and the scatter-add of overlapping windows
  plantInKernel("maxPool2dIndex: gradient to the last maximum instead of the first (>= instead of >)", "maxPool2dIndex", "value", ["maxPool2dIndex"], (t) => t.replace(/^if \((\w+) > /, "if ($1 >= ")),
  plantInKernel("maxPool2dGrad: overlapping windows overwrite instead of add (= instead of +=)", "maxPool2dGrad", "gradient", ["maxPool2d", "maxPool2dGrad"], (t) => t.replace(/\]! \+= /, "] = ")),
  plantInKernel("avgPool2dGrad: overlapping windows overwrite instead of add (= instead of +=)", "avgPool2dGrad", "gradient", ["avgPool2d", "avgPool2dGrad"], (t) => t.replace(/\]! \+= /, "] = ")),
  replace("avgPool2d: gradient divided by kh·kw where the real cells count (countIncludePad ignored)", "avgPool2d", ({ inputs: [x], dy, attrs }, b) => [b.apply("avgPool2dGrad", [dy], { ...attrs, countIncludePad: true, shape: [...x!.shape] })]),
  {
    name: "crossEntropy: ignored labels still pull on their logits (the loss masked, its gradient not)",
    ops: ["crossEntropy"],
    apply: () => {
      const def = registry.crossEntropy as { call: (b: Builder, z: Node, y: Node, o?: { ignoreIndex?: number; labelSmoothing?: number }) => Node };
      const orig = def.call;
      // log S·keep + (log S − stop(log S))·(1 − keep): the same value, and a gradient from every row
      def.call = (b, z, y, o) => {
        const realMul = b.mul;
        b.mul = ((x: Node, k: Node) => (x.op === "log" && k.op === "sum" ? b.add(realMul(x, k), realMul(b.sub(x, b.stopGradient(x)), b.sub(1, k))) : realMul(x, k))) as typeof b.mul;
        try {
          return orig(b, z, y, o);
        } finally {
          b.mul = realMul;
        }
      };
      return () => {
        def.call = orig;
      };
    },
  },
  // batch norm's closed-form backward, each term in turn (the real rule is one kernel, bnNormalizeGrad)
  replace("bnNormalize: missing mean-gradient term (dy − x̂·mean(dy·x̂))/√(σ² + ε)", "bnNormalize", ({ inputs: [x], dy, attrs }, b) => {
    const { mean, s, xhat } = bnParts(b, x!, attrs.eps as number);
    return [b.mul(s, b.sub(dy, b.mul(xhat, mean(b.mul(dy, xhat)))))];
  }, ["bnNormalize", "batchNorm"]),
  replace("bnNormalize: missing variance-gradient term (dy − mean(dy))/√(σ² + ε)", "bnNormalize", ({ inputs: [x], dy, attrs }, b) => {
    const { mean, s } = bnParts(b, x!, attrs.eps as number);
    return [b.mul(s, b.sub(dy, mean(dy)))];
  }, ["bnNormalize", "batchNorm"]),
  replace("bnNormalize: wrong variance bias in the backward (unbiased σ², as the running update uses)", "bnNormalize", ({ inputs: [x], dy, attrs }, b) => {
    const { mean, s, xhat } = bnParts(b, x!, attrs.eps as number, true);
    return [b.mul(s, b.sub(b.sub(dy, mean(dy)), b.mul(xhat, mean(b.mul(dy, xhat)))))];
  }, ["bnNormalize", "batchNorm"]),
  // sequence ops (issue 13): attention's softmax term, layer norm's mean and variance terms, swapped gates
  replace("attention: dS = P ⊙ dP (dropped the softmax term − rowsum(dP ⊙ P))", "attentionProbs", ({ inputs: [q, k], out: P, dy, attrs }, b) => {
    const dS = b.mul(P, dy);
    const s = attrs.scale as number;
    return [b.mul(b.matmul(dS, k!), s), b.mul(b.matmul(b.transpose(dS, dS.shape.map((_, i) => (i < dS.shape.length - 2 ? i : 2 * dS.shape.length - 3 - i))), q!), s)];
  }, ["attentionProbs", "scaledDotProductAttention"]),
  replace("attention: dq without the scale", "attentionProbs", ({ inputs: [q, k], out: P, dy, attrs }, b) => {
    const dS = b.mul(P, b.sub(dy, b.sum(b.mul(dy, P), -1, true)));
    return [b.matmul(dS, k!), b.mul(b.matmul(b.transpose(dS, dS.shape.map((_, i) => (i < dS.shape.length - 2 ? i : 2 * dS.shape.length - 3 - i))), q!), attrs.scale as number)];
  }, ["attentionProbs"]),
  replace("layerNorm: dropped the mean term − mean(dy)", "layerNormalize", ({ inputs: [x], out: xh, dy, attrs }, b) => {
    const axes = x!.shape.map((_, i) => i).slice(x!.shape.length - (attrs.dims as number));
    const r = b.pow(b.add(b.mean(b.square(b.sub(x!, b.mean(x!, axes, true))), axes, true), attrs.eps as number), -0.5);
    return [b.mul(r, b.sub(dy, b.mul(xh, b.mean(b.mul(dy, xh), axes, true))))];
  }, ["layerNormalize", "layerNorm"]),
  replace("layerNorm: dropped the variance term − x̂·mean(dy ⊙ x̂)", "layerNormalize", ({ inputs: [x], dy, attrs }, b) => {
    const axes = x!.shape.map((_, i) => i).slice(x!.shape.length - (attrs.dims as number));
    const r = b.pow(b.add(b.mean(b.square(b.sub(x!, b.mean(x!, axes, true))), axes, true), attrs.eps as number), -0.5);
    return [b.mul(r, b.sub(dy, b.mean(dy, axes, true)))];
  }, ["layerNormalize", "layerNorm"]),
  flip("layerNormalizeGrad", 0), drop("layerNormalizeGrad", 1), flip("erf", 0), flip("concat", 1),
  replace("concat: operands' gradients in the wrong order", "concat", ({ inputs, dy, attrs }, b) => {
    let at = 0;
    return [...inputs].reverse().map((x) => b.slice(dy, attrs.axis as number, at, (at += x.shape[attrs.axis as number]!))).reverse();
  }, ["concat"]),
  swapGate("lstmCell: gates i and f swapped", "lstmCell", (b, [x, h, c, Wih, Whh, bih, bhh]) => {
    const H = h!.shape[1]!;
    const z = b.add(b.linear(x!, Wih!, bih), b.linear(h!, Whh!, bhh));
    const [ig, fg, gg, og] = [1, 0, 2, 3].map((k) => b.slice(z, -1, k * H, (k + 1) * H)) as [Node, Node, Node, Node];
    const c2 = b.add(b.mul(b.sigmoid(fg), c!), b.mul(b.sigmoid(ig), b.tanh(gg)));
    return { h: b.mul(b.sigmoid(og), b.tanh(c2)), c: c2 };
  }),
  swapGate("gruCell: b_hn outside r ⊙ (…)", "gruCell", (b, [x, h, Wih, Whh, bih, bhh]) => {
    const H = h!.shape[1]!;
    const gate = (t: Node, k: number) => b.slice(t, -1, k * H, (k + 1) * H);
    const gi = b.linear(x!, Wih!, bih);
    const gh = b.linear(h!, Whh!);
    const gb = bhh ? b.add(gh, bhh) : gh;
    const r = b.sigmoid(b.add(gate(gi, 0), gate(gb, 0)));
    const z = b.sigmoid(b.add(gate(gi, 1), gate(gb, 1)));
    const n = b.tanh(b.add(b.add(gate(gi, 2), b.mul(r, gate(gh, 2))), bhh ? gate(bhh, 2) : 0));
    return b.add(b.mul(b.sub(1, z), n), b.mul(z, h!));
  }),
  // missing fan-in sum
  {
    name: "autodiff: only the first contribution of a node read twice (missing fan-in sum)",
    ops: ["add", "mul", "transpose", "softmax", "logSoftmax", "softmaxCrossEntropy"],
    apply: () => {
      const orig = fanIn.combine;
      fanIn.combine = (_b, parts) => parts[0]!;
      return () => {
        fanIn.combine = orig;
      };
    },
  },
];

describe("mutation harness", () => {
  let undo: (() => void) | undefined;
  afterEach(() => {
    undo?.();
    undo = undefined;
  });

  it(`plants at least 30 distinct mutations (${mutants.length})`, () => {
    expect(new Set(mutants.map((m) => m.name)).size).toBe(mutants.length);
    expect(mutants.length).toBeGreaterThanOrEqual(30);
  });

  for (const mutant of mutants) {
    it(`catches: ${mutant.name}`, async () => {
      undo = mutant.apply();
      const caught: string[] = [];
      for (const op of mutant.ops) {
        for (const [ci, c] of cases[op].entries()) {
          const failures = mutant.check === "value" ? await valueCheck(op, c, ci) : await gradientCheck(op, c, ci, 1);
          if (failures.length) {
            caught.push(`${op} #${ci}: ${failures[0]}`);
            break;
          }
        }
        if (caught.length) break;
      }
      expect(caught.length, `the gradient suite did not notice "${mutant.name}"`).toBeGreaterThan(0);
    });
  }
});
