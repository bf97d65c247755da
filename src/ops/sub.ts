import { binary } from "./family.js";

export const sub = binary("sub", {
  doc: "a − b, elementwise with broadcasting",
  f: (a, b) => a - b,
  expr: (a, b) => `${a} - ${b}`,
  torch: (a, b) => `${a} - ${b}`,
  onnx: (o, a, b) => o.node("Sub", [a, b]),
  lanes: (L, a, b) => L.sub(a, b),
  math: (a, b) => `${a} − ${b}`,
  // d(a−b) = da − db
  vjp: ({ dy }, b) => [dy, b.neg(dy)],
});
