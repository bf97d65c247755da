import { unary } from "./family.js";

/** sign(x) ∈ {−1, 0, 1}: the derivative of |x|, with no gradient itself. */
export const sign = unary("sign", {
  doc: "sign(x): −1, 0 or 1",
  f: Math.sign,
  expr: (x) => `Math.sign(${x})`,
  torch: (x) => `torch.sign(${x})`,
  onnx: (o, x) => o.node("Sign", [x]),
  math: (x) => `sign(${x})`,
  // piecewise constant: no gradient
  vjp: () => [null],
});
