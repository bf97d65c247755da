import { unaryWithAttr, type UnaryAttrCall } from "./family.js";
import type { Primitive } from "./types.js";

export const pow: Primitive<UnaryAttrCall<number>, { exponent: number }> = unaryWithAttr("pow", "exponent", undefined, {
  doc: "xᵖ for a constant exponent p",
  f: (x, { exponent }) => Math.pow(x, exponent),
  expr: (x, { exponent }) => `Math.pow(${x}, ${exponent})`,
  torch: (x, { exponent }) => `torch.pow(${x}, ${exponent})`,
  onnx: (o, x, { exponent }) => o.node("Pow", [x, o.scalar(exponent)]),
  math: (x, { exponent }) => `${x}^${exponent}`,
  // d xᵖ = p·xᵖ⁻¹·dx
  vjp: ({ inputs: [x], dy, attrs: { exponent: p } }, b) => [b.mul(dy, b.mul(b.pow(x, p - 1), p))],
});
