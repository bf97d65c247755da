/** silu(x) = x·σ(x) (F.silu, "swish"), built from sigmoid: d silu = σ(x)·(1 + x·(1 − σ(x))). */
import type { Builder, Composite, Node, TensorLike } from "./types.js";

export const silu: Composite<(b: Builder, x: TensorLike) => Node> = {
  kind: "composite",
  doc: "x·σ(x) (F.silu)",
  call: (b, x) => {
    const xn = b.lift(x, "silu", "x");
    return b.mul(xn, b.sigmoid(xn));
  },
};
