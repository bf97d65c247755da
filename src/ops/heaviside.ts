import { unary } from "./family.js";

/** relu'(x) = [x > 0]: a building block of derivatives, with no gradient itself. */
export const heaviside = unary("heaviside", {
  doc: "[x > 0] as 1 or 0 (relu')",
  f: (x) => (x > 0 ? 1 : 0),
  expr: (x) => `${x} > 0 ? 1 : 0`,
  torch: (x, _a, { dtype }) => `(${x} > 0).to(${dtype})`,
  onnx: (o, x) => o.node("Cast", [o.node("Greater", [x, o.scalar(0)])], { to: { i: o.floatType } }),
  lanes: (L, x) => L.ifGreater(x, L.num(0), L.num(1), L.num(0)),
  math: (x) => `relu'(${x})`,
  // piecewise constant: no gradient
  vjp: () => [null],
});
