/**
 * The op table's second-order check, data-driven: every case of test/support/ops.cases.ts (an op
 * joins by adding cases there) is compiled with a loss built from g.grad of the case's first-order
 * loss, L2 = Σᵢ ⟨∂L1/∂pᵢ, sᵢ⟩ + 10⁻³·Σᵢ ‖pᵢ‖², and the generated dL2/dp (second derivatives of
 * the op, through the compiled backward of its backward) is compared with central finite
 * differences of the generated L2 (the generated first derivative). The ‖p‖² term keeps L2 a
 * function of the params where the first derivative is constant (add, transpose, …): their
 * second-order part must then be found 0.
 *
 * NOT_TWICE lists, with the reason, the ops that are not twice differentiable everywhere: their
 * second derivative is computed as 0 where the truth is a jump (a Dirac delta) of the first
 * derivative; the check still runs on their cases (sampled away from the kinks), and
 * test/ops/secondOrder.test.ts shows each kink: finite differences of the first derivative across
 * it blow up while the compiled second derivative is 0.
 */
import type { Builder } from "../../src/dsl/builder.js";
import type { Node } from "../../src/ir/graph.js";
import { size } from "../../src/ir/shape.js";
import type { OpName } from "../../src/ops/index.js";
import type { OpCase } from "./ops.cases.js";
import { compileAndLoad, rng } from "./helpers.js";

export interface NotTwice {
  reason: string;
  /** A scalar function of a one-element param p through the op, with a kink at p = `at` (absent: piecewise constant, the first derivative is 0 already). */
  kink?: { f(g: Builder, p: Node): Node; at: number };
}

export const NOT_TWICE: Partial<Record<OpName, NotTwice>> = {
  relu: { reason: "relu' is the step [x > 0]: relu'' is 0 almost everywhere and a delta at 0", kink: { f: (g, p) => g.sum(g.relu(p)), at: 0 } },
  leakyRelu: { reason: "leakyRelu' jumps from slope to 1 at 0: the second derivative is 0 almost everywhere and a delta at 0", kink: { f: (g, p) => g.sum(g.leakyRelu(p, 0.1)), at: 0 } },
  abs: { reason: "abs' = sign(x) jumps at 0: abs'' is 0 almost everywhere and 2·delta at 0", kink: { f: (g, p) => g.sum(g.abs(p)), at: 0 } },
  maximum: { reason: "∂max(a, b)/∂a = [a ≥ b] jumps where a = b: second derivatives are 0 off the tie", kink: { f: (g, p) => g.sum(g.maximum(p, 0.5)), at: 0.5 } },
  minimum: { reason: "∂min(a, b)/∂a = [a ≤ b] jumps where a = b: second derivatives are 0 off the tie", kink: { f: (g, p) => g.sum(g.minimum(p, -0.5)), at: -0.5 } },
  max: {
    reason: "the gradient of a max goes to the first maximum (argmaxMask): it jumps where two elements tie; second derivatives are 0 off ties",
    // max over [p, 0.25]
    kink: { f: (g, p) => g.max(g.add(g.mul(p, g.constant([1, 0])), g.constant([0, 0.25]))), at: 0.25 },
  },
  bceTerm: {
    reason: "∂/∂p divides by the guard max(p(1 − p), 1e-12) (PyTorch's): a kink where p saturates to within 1e-12 of 0 or 1; twice differentiable on (0, 1) inside it",
  },
  bce: { reason: "built on bceTerm (its guard at saturated probabilities)" },
  heaviside: { reason: "piecewise constant: its derivative is 0 almost everywhere (and not a function at 0), so is its second" },
  sign: { reason: "piecewise constant: its derivative is 0 almost everywhere (and not a function at 0), so is its second" },
  ge: { reason: "piecewise constant (a comparison): derivatives 0 almost everywhere" },
  argmaxMask: { reason: "piecewise constant (the first-maximum mask): derivatives 0 almost everywhere" },
  maxPool2d: {
    reason: "each window's gradient is scattered to its first maximum, an int32 index (maxPool2dIndex) that jumps where two elements tie: the index has no derivative, so second derivatives are 0 off ties",
    // a 1×2 window over [p, 0.25]: the maximum moves from 0.25 to p at p = 0.25
    kink: { f: (g, p) => g.sum(g.maxPool2d(g.reshape(g.add(g.mul(p, g.constant([1, 0])), g.constant([0, 0.25])), [1, 1, 2]), [1, 2])), at: 0.25 },
  },
};

/** Which cases of each op the second-order table runs: the first two (a plain and a broadcast or reduced one where the op has them). */
export const secondOrderCases = (list: readonly OpCase[]) => list.slice(0, 2);

/** Compile a case with L2 = Σᵢ ⟨∂L1/∂pᵢ, sᵢ⟩ + 10⁻³·Σᵢ ‖pᵢ‖², L1 = ⟨out, r⟩ as in the first-order table. */
export async function compileSecondOrder(op: string, c: OpCase, ci: number) {
  const weights = rng(99);
  const rand = () => weights() * 2 - 1;
  return compileAndLoad(
    {
      dtype: "float64",
      build(g) {
        const ps = c.shapes.map((s, i) => g.param(`p${i}`, s, { init: "zeros" }));
        const out = c.build(g, ps);
        const n = size(out.shape);
        const r = Array.from({ length: n }, rand);
        const L1 = op === "sum" || op === "mul" ? g.matmul(g.reshape(out, [n]), g.constant(r, [n])) : g.sum(g.mul(out, g.constant(r, out.shape.length ? [...out.shape] : [])));
        const ds = g.grad(L1, ps, { allowUnused: true });
        const terms = ds.map((d, i) => g.add(g.sum(g.mul(d, g.constant(Array.from({ length: size(d.shape) }, rand), d.shape.length ? [...d.shape] : []))), g.mul(g.sum(g.square(ps[i]!)), 1e-3)));
        return terms.reduce((a, t) => g.add(a, t));
      },
    },
    `op2-${op}-${ci}`,
  );
}
