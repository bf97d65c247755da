import { unaryWithAttr } from "./family.js";

export const leakyRelu = unaryWithAttr("leakyRelu", "slope", 0.01, {
  doc: "x for x > 0, slope·x otherwise",
  f: (x, a) => (x > 0 ? x : (a.slope as number) * x),
  expr: (x, a) => `${x} > 0 ? ${x} : ${a.slope as number} * ${x}`,
  lanes: (L, x, a) => L.ifGreater(x, L.num(0), x, L.mul(L.num(a.slope as number), x)),
  math: (x, a) => `leakyRelu(${x}, ${a.slope as number})`,
  // d leakyRelu(x) = ([x > 0]·(1 − slope) + slope)·dx
  vjp: (b, x, _y, g, a) => {
    const s = a.slope as number;
    return b.mul(g, b.add(b.mul(b.heaviside(x), 1 - s), s));
  },
});
