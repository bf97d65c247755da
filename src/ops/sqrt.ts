import { unary } from "./family.js";

export const sqrt = unary("sqrt", {
  doc: "√x",
  f: Math.sqrt,
  expr: (x) => `Math.sqrt(${x})`,
  torch: (x) => `torch.sqrt(${x})`,
  onnx: (o, x) => o.node("Sqrt", [x]),
  lanes: (L, x) => L.sqrt!(x),
  math: (x) => `√${x}`,
  // d √x = dx / (2√x)
  vjp: ({ out: y, dy }, b) => [b.div(dy, b.mul(y, 2))],
});
