import { reduce, reducedShape } from "./family.js";

export const max = reduce("max", {
  doc: "maximum over the given axes (all by default)",
  init: -Infinity,
  combine: (acc, v) => Math.max(acc, v),
  lowerInit: "-Infinity",
  lowerCombine: (acc, v) => `Math.max(${acc}, ${v})`,
  symbol: "max",
  // d max(x) = onehot(first argmax)·broadcast(dy): ties send the gradient to the first maximum only
  vjp: (b, x, _y, g, axes, keepDims) => {
    const gb = b.broadcastTo(keepDims ? g : b.reshape(g, reducedShape(x.shape, axes, true)), [...x.shape]);
    return b.mul(gb, b.argmaxMask(x, axes));
  },
});
