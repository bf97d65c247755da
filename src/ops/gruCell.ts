/**
 * gruCell(x, h, Wih, Whh, bih?, bhh?) → h': one step of nn.GRUCell, PyTorch's equations and layout
 * (the rows of Wih, Whh and the biases are the gates r, z, n, H each):
 *   r = σ(x·W_irᵀ + b_ir + h·W_hrᵀ + b_hr), z = σ(x·W_izᵀ + b_iz + h·W_hzᵀ + b_hz)
 *   n = tanh(x·W_inᵀ + b_in + r ⊙ (h·W_hnᵀ + b_hn))   (b_hn inside the product, as PyTorch)
 *   h' = (1 − z) ⊙ n + z ⊙ h
 */
import { cellOperands, gate } from "./cellOperands.js";
import type { Builder, Composite, Node, TensorLike } from "./types.js";

type GruCall = (b: Builder, x: TensorLike, h: TensorLike, Wih: TensorLike, Whh: TensorLike, bih?: TensorLike, bhh?: TensorLike) => Node;

export const gruCell: Composite<GruCall> = {
  kind: "composite",
  doc: "one nn.GRUCell step → h (gates r, z, n; b_hn inside r ⊙ (…); Wih [3H, I], Whh [3H, H], biases [3H] optional)",
  call: (b, x, h, Wih, Whh, bih, bhh) => {
    const o = cellOperands(b, "gruCell", 3, { x, h, Wih, Whh, bih, bhh });
    const gi = b.linear(o.x, o.Wih, o.bih); // [N, 3H]: x's part of r, z, n
    const gh = b.linear(o.h, o.Whh, o.bhh); // [N, 3H]: h's part, b_hn included
    const r = b.sigmoid(b.add(gate(b, gi, 0, o.H), gate(b, gh, 0, o.H)));
    const z = b.sigmoid(b.add(gate(b, gi, 1, o.H), gate(b, gh, 1, o.H)));
    const n = b.tanh(b.add(gate(b, gi, 2, o.H), b.mul(r, gate(b, gh, 2, o.H))));
    return b.add(b.mul(b.sub(1, z), n), b.mul(z, o.h));
  },
};
