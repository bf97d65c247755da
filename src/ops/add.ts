import { binary } from "./family.js";

export const add = binary("add", {
  doc: "a + b, elementwise with broadcasting",
  f: (a, b) => a + b,
  expr: (a, b) => `${a} + ${b}`,
  torch: (a, b) => `${a} + ${b}`,
  onnx: (o, a, b) => o.node("Add", [a, b]),
  lanes: (L, a, b) => L.add(a, b),
  math: (a, b) => `${a} + ${b}`,
  // d(a+b) = da + db
  vjp: ({ dy }) => [dy, dy],
});
