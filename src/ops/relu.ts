import { unary } from "./family.js";

export const relu = unary("relu", {
  doc: "max(x, 0)",
  f: (x) => (x > 0 ? x : 0),
  expr: (x) => `${x} > 0 ? ${x} : 0`,
  torch: (x) => `torch.relu(${x})`,
  onnx: (o, x) => o.node("Relu", [x]),
  lanes: (L, x) => L.ifGreater(x, L.num(0), x, L.num(0)),
  math: (x) => `relu(${x})`,
  // d relu(x) = [x > 0]·dx. Trap: written as maximum(x, 0), the tie rule would pass the whole
  // gradient at x = 0; relu' is the Heaviside step, 0 at 0, as in PyTorch.
  vjp: ({ inputs: [x], dy }, b) => [b.mul(dy, b.heaviside(x))],
});
