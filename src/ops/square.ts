import { unary } from "./family.js";

export const square = unary("square", {
  doc: "x²",
  f: (x) => x * x,
  expr: (x) => `${x} * ${x}`,
  torch: (x) => `torch.square(${x})`,
  onnx: (o, x) => o.node("Mul", [x, x]),
  lanes: (L, x) => L.mul(x, x),
  math: (x) => `${x}²`,
  // d x² = 2x·dx
  vjp: ({ inputs: [x], dy }, b) => [b.mul(dy, b.mul(x, 2))],
});
