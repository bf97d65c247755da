import { unary } from "./family.js";

export const log = unary("log", {
  doc: "natural logarithm",
  f: Math.log,
  expr: (x) => `Math.log(${x})`,
  torch: (x) => `torch.log(${x})`,
  onnx: (o, x) => o.node("Log", [x]),
  math: (x) => `log(${x})`,
  // d log x = dx / x
  vjp: ({ inputs: [x], dy }, b) => [b.div(dy, x)],
});
