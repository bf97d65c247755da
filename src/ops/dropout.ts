/**
 * dropout(x, p): in training, x ⊙ mask with a fresh mask per call (dropoutMask: 0 with probability p,
 * else 1/(1 − p)); in eval, x itself. p = 0 is the identity in both modes. The gradient is dy ⊙ mask,
 * the mask of the same call (one node, one buffer, read by the forward and the backward).
 */
import { FlatgradError, fmtValue } from "../ir/shape.js";
import type { Builder, Composite, Node, TensorLike } from "./types.js";

export const dropout: Composite<(b: Builder, x: TensorLike, p: number) => Node> = {
  kind: "composite",
  doc: "training: each element zeroed with probability p, survivors scaled by 1/(1 − p); eval: identity",
  call: (b, x, p) => {
    const xn = b.lift(x, "dropout", "x");
    if (typeof p !== "number" || !(p >= 0 && p < 1))
      throw new FlatgradError(`dropout: p must be a probability in [0, 1) (the fraction of elements zeroed), got ${fmtValue(p)}`, undefined, "FG195");
    if (p === 0) return xn;
    return b.byMode(b.mul(xn, b.dropoutMask([...xn.shape], p)), xn);
  },
};
