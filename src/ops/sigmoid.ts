import { unary } from "./family.js";

export const sigmoid = unary("sigmoid", {
  doc: "σ(x) = 1 / (1 + e⁻ˣ)",
  // Trap: 1/(1+e⁻ˣ) overflows e⁻ˣ for x ≪ 0; the two branches keep every exponent ≤ 0.
  f: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  expr: (x) => `${x} >= 0 ? 1 / (1 + Math.exp(-${x})) : Math.exp(${x}) / (1 + Math.exp(${x}))`,
  torch: (x) => `torch.sigmoid(${x})`,
  onnx: (o, x) => o.node("Sigmoid", [x]),
  math: (x) => `σ(${x})`,
  // dσ(x) = σ(x)·(1 − σ(x))·dx
  vjp: ({ out: y, dy }, b) => [b.mul(dy, b.mul(y, b.sub(1, y)))],
});
