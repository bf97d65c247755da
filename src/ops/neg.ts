import { unary } from "./family.js";

export const neg = unary("neg", {
  doc: "−x",
  f: (x) => -x,
  expr: (x) => `-${x}`,
  torch: (x) => `-${x}`,
  onnx: (o, x) => o.node("Neg", [x]),
  lanes: (L, x) => L.neg(x),
  math: (x) => `−${x}`,
  // d(−x) = −dx
  vjp: ({ dy }, b) => [b.neg(dy)],
});
