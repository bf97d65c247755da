import { defineModel } from "flatgrad";

// Benchmark workload W5, one transformer block: x[8,32,64] → layerNorm → q, k, v linears → 4 heads of 16 →
// causal attention → merge → linear → residual → layerNorm → linear 64→256 → GELU → linear 256→64 →
// residual → linear 64→10 → cross-entropy on [8,32] int32 labels.
const B = 8; //   sequences per batch
const L = 32; //  positions
const D = 64; //  model width
const NH = 4; //  heads
const DH = D / NH; // head size 16
const F = 4 * D; // MLP width
const C = 10; //  classes

export default defineModel({
  dtype: "float32",
  optimizer: { type: "sgd", lr: 0.01 },
  build(g) {
    const x = g.input("x", [B, L, D]);
    const y = g.input("y", [B, L], { dtype: "int32" });
    type T = ReturnType<typeof g.input>;
    const ln = (name: string, t: T) => g.layerNorm(t, g.param(`${name}.weight`, [D], { init: "ones" }), g.param(`${name}.bias`, [D]));
    const lin = (name: string, t: T, out: number, inp: number) => g.linear(t, g.param(`${name}.weight`, [out, inp]), g.param(`${name}.bias`, [out]));
    // [B, L, D] → [B, NH, L, DH] and back
    const heads = (t: T) => g.transpose(g.reshape(t, [B, L, NH, DH]), [0, 2, 1, 3]);
    const merge = (t: T) => g.reshape(g.transpose(t, [0, 2, 1, 3]), [B, L, D]);
    const h = ln("ln1", x);
    const q = heads(lin("attn.q", h, D, D));
    const k = heads(lin("attn.k", h, D, D));
    const v = heads(lin("attn.v", h, D, D));
    const o = g.scaledDotProductAttention(q, k, v, { causal: true });
    const x1 = g.add(x, lin("attn.proj", merge(o), D, D));
    const x2 = g.add(x1, lin("mlp.fc2", g.gelu(lin("mlp.fc1", ln("ln2", x1), F, D)), D, F));
    const logits = lin("head", x2, C, D); // [B, L, C]
    g.output("logits", logits);
    return g.crossEntropy(logits, y);
  },
});
