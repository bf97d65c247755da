import { FlatgradError, fmtShape, fmtValue } from "../ir/shape.js";
import { intArg, knownOptions, liftIndices } from "./indices.js";
import type { Builder, Composite, Node, TensorLike } from "./types.js";

export interface CrossEntropyOptions {
  /** A label equal to it adds nothing and is not counted in the mean (default −100, as PyTorch's). */
  ignoreIndex?: number;
  /** ε: the target is (1 − ε)·onehot + ε/C (default 0). */
  labelSmoothing?: number;
}

/**
 * F.cross_entropy with class indices, classes on the LAST axis: the mean over kept labels (label ≠
 * ignoreIndex) of (1 − ε)·(−log p[label]) + ε·mean over classes of −log p. With every label ignored
 * the loss is 0/0 = NaN and the gradient 0, as PyTorch's.
 */
export const crossEntropy: Composite<(b: Builder, logits: TensorLike, labels: TensorLike, options?: CrossEntropyOptions) => Node> = {
  kind: "composite",
  doc: "mean over kept int32 labels of −log softmax(logits)[label] (F.cross_entropy, classes last; ignoreIndex, labelSmoothing)",
  intOperands: ["labels"],
  call: (b, logits, labels, options) => {
    const z = b.lift(logits, "crossEntropy", "logits");
    const y = liftIndices(b, labels, "crossEntropy", "labels");
    const o = knownOptions("crossEntropy", options, ["ignoreIndex", "labelSmoothing"]);
    const ignoreIndex = intArg("crossEntropy", "ignoreIndex", o.ignoreIndex ?? -100);
    const eps = o.labelSmoothing ?? 0;
    if (typeof eps !== "number" || !(eps >= 0 && eps <= 1))
      throw new FlatgradError(`crossEntropy: labelSmoothing must be a number in [0, 1], got ${fmtValue(eps)}`, undefined, "FG174");
    const lead = z.shape.slice(0, -1);
    if (z.shape.length === 0 || y.shape.length !== lead.length || y.shape.some((d, i) => d !== lead[i]))
      throw new FlatgradError(
        `crossEntropy: logits is ${fmtShape(z.shape)} but labels is ${fmtShape(y.shape)}: labels must be shaped as logits without its last axis (the classes), ${z.shape.length ? fmtShape(lead) : "and logits needs a class axis"}`,
        undefined,
        "FG175",
      );
    const C = z.shape[z.shape.length - 1]!;
    // t = (1 − ε)·onehot(y) + (ε/C)·keep, keep = [y ≠ ignoreIndex] (each kept row of t sums to 1), K = Σ keep:
    // loss = Σ −t·logSoftmax(z) / K = (Σ keep·log S − Σ t·s) / K with s = z − max z, S = Σ exp(s), the
    // softmaxCrossEntropy form, whose chain rule is one kernel: dz = (keep·exp(s)/S − t)·dL/K
    const hot = b.oneHot(y, C, { ignoreIndex });
    const keep = b.sum(hot, -1, true);
    const t = eps === 0 ? hot : b.add(b.mul(hot, 1 - eps), b.mul(keep, eps / C));
    const s = b.sub(z, b.stopGradient(b.max(z, -1, true)));
    const S = b.sum(b.exp(s), -1, true);
    const kept = b.sum(keep);
    const total = b.sub(b.sum(b.mul(b.log(S), keep)), b.sum(b.mul(t, s)));
    // Trap: total/K with every label ignored gives a NaN loss, as PyTorch's, but also NaN gradients (0·∞),
    // where PyTorch's are 0: so total/max(K, 1), whose gradient is then 0, plus 0/K (0, or NaN when K = 0)
    // as a term without gradient
    return b.add(b.div(total, b.maximum(kept, 1)), b.stopGradient(b.div(0, kept)));
  },
};
