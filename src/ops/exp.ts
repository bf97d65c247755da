import { unary } from "./family.js";

export const exp = unary("exp", {
  doc: "eˣ",
  f: Math.exp,
  expr: (x) => `Math.exp(${x})`,
  torch: (x) => `torch.exp(${x})`,
  onnx: (o, x) => o.node("Exp", [x]),
  lanes: (L, x) => L.exp!(x),
  math: (x) => `exp(${x})`,
  // d eˣ = eˣ·dx
  vjp: ({ out, dy }, b) => [b.mul(dy, out)],
});
