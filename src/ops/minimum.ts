import { binary } from "./family.js";

export const minimum = binary("minimum", {
  doc: "min(a, b), elementwise with broadcasting",
  f: (a, b) => Math.min(a, b),
  expr: (a, b) => `Math.min(${a}, ${b})`,
  torch: (a, b) => `torch.minimum(${a}, ${b})`,
  onnx: (o, a, b) => o.node("Min", [a, b]),
  lanes: (L, a, b) => L.min!(a, b),
  math: (a, b) => `min(${a}, ${b})`,
  // d min(a,b) = [a ≤ b]·da + [a > b]·db  (a tie sends the whole gradient to a)
  vjp: ({ inputs: [x, y], dy }, b) => {
    const m = b.ge(y, x);
    return [b.mul(dy, m), b.mul(dy, b.sub(1, m))];
  },
});
