import { binary } from "./family.js";

export const mul = binary("mul", {
  doc: "a ⊙ b, elementwise product with broadcasting",
  f: (a, b) => a * b,
  expr: (a, b) => `${a} * ${b}`,
  torch: (a, b) => `${a} * ${b}`,
  onnx: (o, a, b) => o.node("Mul", [a, b]),
  lanes: (L, a, b) => L.mul(a, b),
  math: (a, b) => `${a} ⊙ ${b}`,
  // d(a⊙b) = da⊙b + a⊙db
  vjp: ({ inputs: [x, y], dy }, b) => [b.mul(dy, y), b.mul(dy, x)],
});
