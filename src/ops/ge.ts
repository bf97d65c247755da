import { binary } from "./family.js";

/** The comparison mask [a ≥ b] (1 or 0): a building block of derivatives, with no gradient itself. */
export const ge = binary("ge", {
  doc: "[a ≥ b] as 1 or 0, elementwise with broadcasting",
  f: (a, b) => (a >= b ? 1 : 0),
  expr: (a, b) => `${a} >= ${b} ? 1 : 0`,
  torch: (a, b, { dtype }) => `(${a} >= ${b}).to(${dtype})`,
  onnx: (o, a, b) => o.node("Cast", [o.node("GreaterOrEqual", [a, b])], { to: { i: o.floatType } }),
  math: (a, b) => `[${a} ≥ ${b}]`,
  // piecewise constant: no gradient
  vjp: () => [null, null],
});
