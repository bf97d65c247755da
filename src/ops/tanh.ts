import { unary } from "./family.js";

export const tanh = unary("tanh", {
  doc: "hyperbolic tangent",
  f: Math.tanh,
  expr: (x) => `Math.tanh(${x})`,
  torch: (x) => `torch.tanh(${x})`,
  onnx: (o, x) => o.node("Tanh", [x]),
  math: (x) => `tanh(${x})`,
  // d tanh x = (1 − tanh²x)·dx
  vjp: ({ out: y, dy }, b) => [b.mul(dy, b.sub(1, b.square(y)))],
});
