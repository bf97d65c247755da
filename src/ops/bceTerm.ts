import { binary } from "./family.js";

const clampedLog = (v: number) => Math.max(Math.log(v), -100);

/**
 * One element of binary cross-entropy, −(t·log p + (1 − t)·log(1 − p)), with each log clamped at
 * −100 as in PyTorch. A primitive, not a composite: composed, the gradient of the clamped log(1 − p)
 * at p = 1 would be 0 · ∞ = NaN.
 */
export const bceTerm = binary("bceTerm", {
  doc: "−(t·log p + (1 − t)·log(1 − p)), logs clamped at −100",
  f: (p, t) => -(t * clampedLog(p) + (1 - t) * clampedLog(1 - p)),
  expr: (p, t) => `-(${t} * Math.max(Math.log(${p}), -100) + (1 - ${t}) * Math.max(Math.log(1 - ${p}), -100))`,
  torch: (p, t) => `torch.nn.functional.binary_cross_entropy(${p}, ${t}, reduction="none")`,
  onnx: (o, p, t) => {
    const clamped = (v: string) => o.node("Max", [o.node("Log", [v]), o.scalar(-100)]);
    const one = o.scalar(1);
    return o.node("Neg", [o.node("Add", [o.node("Mul", [t, clamped(p)]), o.node("Mul", [o.node("Sub", [one, t]), clamped(o.node("Sub", [one, p]))])])]);
  },
  math: (p, t) => `bce(${p}, ${t})`,
  // ∂/∂p = (p − t) / max(p(1 − p), 1e-12)  (PyTorch's guard: finite when p saturates at 0 or 1)
  // ∂/∂t = log(1 − p) − log p  (both clamped at −100)
  vjp: ({ inputs: [p, t], dy }, b) => [
    b.mul(dy, b.div(b.sub(p, t), b.maximum(b.mul(p, b.sub(1, p)), 1e-12))),
    b.mul(dy, b.sub(b.maximum(b.log(b.sub(1, p)), -100), b.maximum(b.log(p), -100))),
  ],
});
