/**
 * Composite ops: built from primitives by the builder, so the differentiator, the passes and the
 * code generator never need to know them. Each says why its formula is the stable one.
 */
import { FlatgradError, fmtShape, normAxes, normAxis, sameShape, size } from "../ir/shape.js";
import type { Builder, Composite, Node, TensorLike } from "./types.js";

const composite = <C extends (b: Builder, ...args: never[]) => Node>(doc: string, call: C): Composite<C> => ({ kind: "composite", doc, call });

export const linear: Composite<(b: Builder, x: TensorLike, W: TensorLike, bias?: TensorLike) => Node> = composite("x·Wᵀ + b with W shaped [out, in] and x shaped [..., in]", (b: Builder, x: TensorLike, W: TensorLike, bias?: TensorLike): Node => {
  const xn = b.lift(x);
  const Wn = b.lift(W);
  if (Wn.shape.length !== 2) throw new FlatgradError(`linear: W is ${fmtShape(Wn.shape)}: W must be 2-D, shaped [out, in]`);
  if (xn.shape.length === 0) throw new FlatgradError(`linear: x is ${fmtShape(xn.shape)}: x must have at least one axis, shaped [..., in]`);
  const inX = xn.shape[xn.shape.length - 1]!;
  if (inX !== Wn.shape[1])
    throw new FlatgradError(`linear: x is ${fmtShape(xn.shape)} but W is ${fmtShape(Wn.shape)}: inner sizes ${inX} and ${Wn.shape[1]} differ`);
  const z = b.matmul(xn, b.transpose(Wn));
  if (bias === undefined) return z;
  const bn = b.lift(bias);
  if (!sameShape(bn.shape, [Wn.shape[0]!]) && size(bn.shape) !== 1)
    throw new FlatgradError(`linear: W is ${fmtShape(Wn.shape)} but b is ${fmtShape(bn.shape)}: b must be [${Wn.shape[0]}]`);
  return b.add(z, bn);
});

export const mean: Composite<(b: Builder, x: TensorLike, axes?: number | number[], keepDims?: boolean) => Node> = composite("mean over the given axes (all by default)", (b: Builder, x: TensorLike, axes?: number | number[], keepDims = false): Node => {
  const xn = b.lift(x);
  const ax = normAxes("mean", axes, xn.shape);
  const count = ax.reduce((a, i) => a * xn.shape[i]!, 1);
  return b.mul(b.sum(xn, ax, keepDims), 1 / count);
});

export const softmax: Composite<(b: Builder, x: TensorLike, axis?: number) => Node> = composite("exp(x) / Σ exp(x) along an axis", (b: Builder, x: TensorLike, axis = -1): Node => {
  const xn = b.lift(x);
  const a = normAxis("softmax", axis, xn.shape.length, xn.shape);
  // shifting by the max keeps every exponent ≤ 0; the shift's true gradient is 0, so it is stopped
  const e = b.exp(b.sub(xn, b.stopGradient(b.max(xn, a, true))));
  return b.div(e, b.sum(e, a, true));
});

export const logSoftmax: Composite<(b: Builder, x: TensorLike, axis?: number) => Node> = composite("x − log Σ exp(x) along an axis", (b: Builder, x: TensorLike, axis = -1): Node => {
  const xn = b.lift(x);
  const a = normAxis("logSoftmax", axis, xn.shape.length, xn.shape);
  // log(softmax(x)) would give log(0) = −∞ for x ≪ max; (x − m) − log Σ exp(x − m) stays finite
  const s = b.sub(xn, b.stopGradient(b.max(xn, a, true)));
  return b.sub(s, b.log(b.sum(b.exp(s), a, true)));
});

function sameShapes(op: string, names: [string, string], x: Node, y: Node): void {
  if (!sameShape(x.shape, y.shape))
    throw new FlatgradError(`${op}: ${names[0]} is ${fmtShape(x.shape)} but ${names[1]} is ${fmtShape(y.shape)}: shapes must be equal`);
}

export const mse: Composite<(b: Builder, pred: TensorLike, target: TensorLike) => Node> = composite("mean of (pred − target)² over all elements", (b: Builder, pred: TensorLike, target: TensorLike): Node => {
  const p = b.lift(pred);
  const t = b.lift(target);
  sameShapes("mse", ["pred", "target"], p, t);
  return b.mean(b.square(b.sub(p, t)));
});

export const bce: Composite<(b: Builder, prob: TensorLike, target: TensorLike) => Node> = composite("mean of −(t·log p + (1 − t)·log(1 − p)), logs clamped at −100 as in PyTorch", (b: Builder, prob: TensorLike, target: TensorLike): Node => {
  const p = b.lift(prob);
  const t = b.lift(target);
  sameShapes("bce", ["prob", "target"], p, t);
  // log(0) = −∞ would poison the mean; PyTorch clamps each log at −100
  const lp = b.maximum(b.log(p), -100);
  const lq = b.maximum(b.log(b.sub(1, p)), -100);
  return b.neg(b.mean(b.add(b.mul(t, lp), b.mul(b.sub(1, t), lq))));
});

export const bceWithLogits: Composite<(b: Builder, logits: TensorLike, target: TensorLike) => Node> = composite("bce(σ(z), t) computed from the logits z as softplus(z) − z·t", (b: Builder, logits: TensorLike, target: TensorLike): Node => {
  const z = b.lift(logits);
  const t = b.lift(target);
  sameShapes("bceWithLogits", ["logits", "target"], z, t);
  // −t·log σ(z) − (1−t)·log(1−σ(z)) = softplus(z) − t·z: no log of a rounded probability, finite for |z| = 1000
  return b.mean(b.sub(b.softplus(z), b.mul(z, t)));
});

export const softmaxCrossEntropy: Composite<(b: Builder, logits: TensorLike, targetProbs: TensorLike) => Node> = composite(
  "mean over rows of −Σ target·logSoftmax(logits) along the last axis",
  (b: Builder, logits: TensorLike, targetProbs: TensorLike): Node => {
    const z = b.lift(logits);
    const t = b.lift(targetProbs);
    sameShapes("softmaxCrossEntropy", ["logits", "targetProbs"], z, t);
    if (z.shape.length === 0) throw new FlatgradError(`softmaxCrossEntropy: logits is []: logits need a class axis`);
    const rows = size(z.shape) / z.shape[z.shape.length - 1]!;
    return b.mul(b.sum(b.mul(t, b.logSoftmax(z, -1))), -1 / rows);
  },
);
