import { unary } from "./family.js";

export const softplus = unary("softplus", {
  doc: "log(1 + eˣ)",
  // Trap: log(1 + eˣ) overflows for x ≫ 0 and loses all digits for x ≪ 0;
  // max(x, 0) + log1p(e^−|x|) is exact to rounding everywhere.
  f: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
  expr: (x) => `Math.max(${x}, 0) + Math.log1p(Math.exp(-Math.abs(${x})))`,
  torch: (x) => `torch.nn.functional.softplus(${x})`,
  onnx: (o, x) => o.node("Softplus", [x]),
  math: (x) => `softplus(${x})`,
  // d softplus(x) = σ(x)·dx
  vjp: ({ inputs: [x], dy }, b) => [b.mul(dy, b.sigmoid(x))],
});
