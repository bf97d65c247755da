import { unaryWithAttr, type UnaryAttrCall } from "./family.js";
import type { Primitive } from "./types.js";

export const leakyRelu: Primitive<UnaryAttrCall<number>, { slope: number }> = unaryWithAttr("leakyRelu", "slope", 0.01, {
  doc: "x for x > 0, slope·x otherwise",
  f: (x, { slope }) => (x > 0 ? x : slope * x),
  expr: (x, { slope }) => `${x} > 0 ? ${x} : ${slope} * ${x}`,
  torch: (x, { slope }) => `torch.nn.functional.leaky_relu(${x}, ${slope})`,
  onnx: (o, x, { slope }) => o.node("LeakyRelu", [x], { alpha: { f: slope } }),
  lanes: (L, x, { slope }) => L.ifGreater(x, L.num(0), x, L.mul(L.num(slope), x)),
  math: (x, { slope }) => `leakyRelu(${x}, ${slope})`,
  // d leakyRelu(x) = ([x > 0]·(1 − slope) + slope)·dx
  vjp: ({ inputs: [x], dy, attrs: { slope } }, b) => [b.mul(dy, b.add(b.mul(b.heaviside(x), 1 - slope), slope))],
});
