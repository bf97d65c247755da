import { binary } from "./family.js";

export const div = binary("div", {
  doc: "a / b, elementwise with broadcasting",
  f: (a, b) => a / b,
  expr: (a, b) => `${a} / ${b}`,
  torch: (a, b) => `${a} / ${b}`,
  onnx: (o, a, b) => o.node("Div", [a, b]),
  lanes: (L, a, b) => L.div(a, b),
  math: (a, b) => `${a} / ${b}`,
  // d(a/b) = da/b − (a/b)·db/b
  vjp: ({ inputs: [, y], out, dy }, b) => [b.div(dy, y), b.neg(b.div(b.mul(dy, out), y))],
});
