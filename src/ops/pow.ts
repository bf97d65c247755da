import { unaryWithAttr } from "./family.js";

export const pow = unaryWithAttr("pow", "exponent", undefined, {
  doc: "xᵖ for a constant exponent p",
  f: (x, a) => Math.pow(x, a.exponent as number),
  expr: (x, a) => `Math.pow(${x}, ${a.exponent as number})`,
  math: (x, a) => `${x}^${a.exponent as number}`,
  // d xᵖ = p·xᵖ⁻¹·dx
  vjp: (b, x, _y, g, a) => {
    const p = a.exponent as number;
    return b.mul(g, b.mul(b.pow(x, p - 1), p));
  },
});
