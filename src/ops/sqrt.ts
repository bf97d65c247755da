import { unary } from "./family.js";

export const sqrt = unary("sqrt", {
  doc: "√x",
  f: Math.sqrt,
  expr: (x) => `Math.sqrt(${x})`,
  math: (x) => `√${x}`,
  // d √x = dx / (2√x)
  vjp: (b, _x, y, g) => b.div(g, b.mul(y, 2)),
});
