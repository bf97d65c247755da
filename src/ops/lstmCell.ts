/**
 * lstmCell(x, h, c, Wih, Whh, bih?, bhh?) → { h, c }: one step of nn.LSTMCell, PyTorch's
 * equations and layout (the rows of Wih, Whh and the biases are the gates i, f, g, o, H each):
 *   i = σ(x·W_iiᵀ + b_ii + h·W_hiᵀ + b_hi), f = σ(…), g = tanh(…), o = σ(…)
 *   c' = f ⊙ c + i ⊙ g,  h' = o ⊙ tanh(c')
 * A recurrence is a plain loop over steps in the model file; the compiler sees the unrolled graph.
 */
import { cellOperands, gate } from "./cellOperands.js";
import type { Builder, Composite, Node, TensorLike } from "./types.js";

type LstmCall = (b: Builder, x: TensorLike, h: TensorLike, c: TensorLike, Wih: TensorLike, Whh: TensorLike, bih?: TensorLike, bhh?: TensorLike) => { h: Node; c: Node };

export const lstmCell: Composite<LstmCall> = {
  kind: "composite",
  doc: "one nn.LSTMCell step → { h, c } (gates i, f, g, o; Wih [4H, I], Whh [4H, H], biases [4H] optional)",
  call: (b, x, h, c, Wih, Whh, bih, bhh) => {
    const o = cellOperands(b, "lstmCell", 4, { x, h, c, Wih, Whh, bih, bhh });
    // all four gates' pre-activations at once: [N, 4H]
    const z = b.add(b.linear(o.x, o.Wih, o.bih), b.linear(o.h, o.Whh, o.bhh));
    const [ig, fg, gg, og] = [0, 1, 2, 3].map((k) => gate(b, z, k, o.H)) as [Node, Node, Node, Node];
    const c2 = b.add(b.mul(b.sigmoid(fg), o.c!), b.mul(b.sigmoid(ig), b.tanh(gg)));
    return { h: b.mul(b.sigmoid(og), b.tanh(c2)), c: c2 };
  },
};
