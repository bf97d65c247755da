import { binary } from "./family.js";

export const maximum = binary("maximum", {
  doc: "max(a, b), elementwise with broadcasting",
  f: (a, b) => Math.max(a, b),
  expr: (a, b) => `Math.max(${a}, ${b})`,
  torch: (a, b) => `torch.maximum(${a}, ${b})`,
  onnx: (o, a, b) => o.node("Max", [a, b]),
  lanes: (L, a, b) => L.max!(a, b),
  math: (a, b) => `max(${a}, ${b})`,
  // d max(a,b) = [a ≥ b]·da + [a < b]·db  (a tie sends the whole gradient to a)
  vjp: ({ inputs: [x, y], dy }, b) => {
    const m = b.ge(x, y);
    return [b.mul(dy, m), b.mul(dy, b.sub(1, m))];
  },
});
