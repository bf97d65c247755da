import { unary } from "./family.js";

export const abs = unary("abs", {
  doc: "|x|",
  f: Math.abs,
  expr: (x) => `Math.abs(${x})`,
  torch: (x) => `torch.abs(${x})`,
  onnx: (o, x) => o.node("Abs", [x]),
  lanes: (L, x) => L.abs!(x),
  math: (x) => `|${x}|`,
  // d|x| = sign(x)·dx  (0 at x = 0)
  vjp: ({ inputs: [x], dy }, b) => [b.mul(dy, b.sign(x))],
});
