/**
 * Composite ops: built from primitives by the builder, so the differentiator, the passes and the
 * code generator never need to know them. Each says why its formula is the stable one.
 */
import { FlatgradError, fmtShape, normAxes, normAxis, sameShape, size } from "../ir/shape.js";
import type { Builder, Composite, Node, TensorLike } from "./types.js";

const composite = <C extends (b: Builder, ...args: never[]) => Node>(doc: string, call: C): Composite<C> => ({ kind: "composite", doc, call });

export const linear: Composite<(b: Builder, x: TensorLike, W: TensorLike, bias?: TensorLike) => Node> = composite("x·Wᵀ + b with W shaped [out, in] and x shaped [..., in]", (b: Builder, x: TensorLike, W: TensorLike, bias?: TensorLike): Node => {
  const xn = b.lift(x, "linear", "x");
  const Wn = b.lift(W, "linear", "W");
  const xW = `x is ${fmtShape(xn.shape)} but W is ${fmtShape(Wn.shape)}`;
  if (Wn.shape.length !== 2) throw new FlatgradError(`linear: ${xW}: W must be 2-D, shaped [out, in]`, undefined, "FG144");
  if (xn.shape.length === 0) throw new FlatgradError(`linear: ${xW}: x must have at least one axis, shaped [..., in]`, undefined, "FG144");
  const inX = xn.shape[xn.shape.length - 1]!;
  if (inX !== Wn.shape[1]) throw new FlatgradError(`linear: ${xW}: inner sizes ${inX} and ${Wn.shape[1]} differ`, undefined, "FG144");
  const z = b.matmul(xn, b.transpose(Wn));
  if (bias === undefined) return z;
  const bn = b.lift(bias, "linear", "b");
  if (!sameShape(bn.shape, [Wn.shape[0]!]) && size(bn.shape) !== 1)
    throw new FlatgradError(
      `linear: x is ${fmtShape(xn.shape)}, W is ${fmtShape(Wn.shape)} but b is ${fmtShape(bn.shape)}: b must be [${Wn.shape[0]}], the out size of W`,
      undefined,
      "FG145",
    );
  return b.add(z, bn);
});

export const mean: Composite<(b: Builder, x: TensorLike, axes?: number | number[], keepDims?: boolean) => Node> = composite("mean over the given axes (all by default)", (b: Builder, x: TensorLike, axes?: number | number[], keepDims = false): Node => {
  const xn = b.lift(x, "mean", "x");
  const ax = normAxes("mean", axes, xn.shape);
  const count = ax.reduce((a, i) => a * xn.shape[i]!, 1);
  return b.mul(b.sum(xn, ax, keepDims), 1 / count);
});

export const softmax: Composite<(b: Builder, x: TensorLike, axis?: number) => Node> = composite("exp(x) / Σ exp(x) along an axis", (b: Builder, x: TensorLike, axis = -1): Node => {
  const xn = b.lift(x, "softmax", "x");
  const a = normAxis("softmax", axis, xn.shape.length, xn.shape);
  // shifting by the max keeps every exponent ≤ 0; the shift's true gradient is 0, so it is stopped
  const e = b.exp(b.sub(xn, b.stopGradient(b.max(xn, a, true))));
  return b.div(e, b.sum(e, a, true));
});

export const logSoftmax: Composite<(b: Builder, x: TensorLike, axis?: number) => Node> = composite("x − log Σ exp(x) along an axis", (b: Builder, x: TensorLike, axis = -1): Node => {
  const xn = b.lift(x, "logSoftmax", "x");
  const a = normAxis("logSoftmax", axis, xn.shape.length, xn.shape);
  // log(softmax(x)) would give log(0) = −∞ for x ≪ max; (x − m) − log Σ exp(x − m) stays finite
  const s = b.sub(xn, b.stopGradient(b.max(xn, a, true)));
  return b.sub(s, b.log(b.sum(b.exp(s), a, true)));
});

/** The operands of a loss, lifted and checked to have the same shape (losses do not broadcast). */
function sameShapes(b: Builder, op: string, names: [string, string], x: TensorLike, y: TensorLike): [Node, Node] {
  const xn = b.lift(x, op, names[0]);
  const yn = b.lift(y, op, names[1]);
  const [s, t] = [xn.shape, yn.shape];
  if (!sameShape(s, t)) {
    const r = Math.max(s.length, t.length);
    let i = 1;
    while (i <= r && s[s.length - i] === t[t.length - i]) i++;
    const why =
      s.length !== t.length
        ? `ranks ${s.length} and ${t.length} differ`
        : `sizes ${s[s.length - i]} and ${t[t.length - i]} differ at axis ${-i}`;
    throw new FlatgradError(`${op}: ${names[0]} is ${fmtShape(s)} but ${names[1]} is ${fmtShape(t)}: shapes must be equal (${why})`, undefined, "FG147");
  }
  return [xn, yn];
}

export const mse: Composite<(b: Builder, pred: TensorLike, target: TensorLike) => Node> = composite("mean of (pred − target)² over all elements", (b: Builder, pred: TensorLike, target: TensorLike): Node => {
  const [p, t] = sameShapes(b, "mse", ["pred", "target"], pred, target);
  return b.mean(b.square(b.sub(p, t)));
});

export const bce: Composite<(b: Builder, prob: TensorLike, target: TensorLike) => Node> = composite("mean of −(t·log p + (1 − t)·log(1 − p)), logs clamped at −100 as in PyTorch", (b: Builder, prob: TensorLike, target: TensorLike): Node => {
  const [p, t] = sameShapes(b, "bce", ["prob", "target"], prob, target);
  // log(0) = −∞ would poison the mean; bceTerm clamps each log at −100 and guards its gradient, as PyTorch does
  return b.mean(b.bceTerm(p, t));
});

export const bceWithLogits: Composite<(b: Builder, logits: TensorLike, target: TensorLike) => Node> = composite("bce(σ(z), t) computed from the logits z as softplus(z) − z·t", (b: Builder, logits: TensorLike, target: TensorLike): Node => {
  const [z, t] = sameShapes(b, "bceWithLogits", ["logits", "target"], logits, target);
  // −t·log σ(z) − (1−t)·log(1−σ(z)) = softplus(z) − t·z: no log of a rounded probability, finite for |z| = 1000
  return b.mean(b.sub(b.softplus(z), b.mul(z, t)));
});

export const softmaxCrossEntropy: Composite<(b: Builder, logits: TensorLike, targetProbs: TensorLike) => Node> = composite(
  "mean over rows of −Σ target·logSoftmax(logits) along the last axis",
  (b: Builder, logits: TensorLike, targetProbs: TensorLike): Node => {
    const [z, t] = sameShapes(b, "softmaxCrossEntropy", ["logits", "targetProbs"], logits, targetProbs);
    if (z.shape.length === 0)
      throw new FlatgradError(`softmaxCrossEntropy: logits is [] and targetProbs is []: logits need a class axis, shaped [..., classes]`, undefined, "FG147");
    const rows = size(z.shape) / z.shape[z.shape.length - 1]!;
    // −Σ t·logSoftmax(z)/N with s = z − max z and S = Σ exp(s) (the nodes softmax(z) = exp(s)/S is made
    // of), written as Σ log(S)·w − Σ t·s/N, w = Σ_c t/N each row's weight, computed in the forward pass:
    // the same value, and a chain rule that is the textbook's, dz = (w/S)·exp(s) − t/N = w·softmax(z) − t/N
    // (= (p − t)/N for one-hot or probability rows), reading the forward's exp(s) and S, one exp per logit
    const s = b.sub(z, b.stopGradient(b.max(z, -1, true)));
    const S = b.sum(b.exp(s), -1, true);
    const weight = b.mul(b.sum(t, -1, true), 1 / rows);
    return b.sub(b.sum(b.mul(b.log(S), weight)), b.mul(b.sum(b.mul(t, s)), 1 / rows));
  },
);
