import { defineModel } from "flatgrad";

// A small causal transformer that learns to sort 6 digits: `npm run demo -- transformer-sort`.
// A problem is the sequence  d1 … d6  SEP  s1 … s6  (s the digits sorted); the model reads the
// first 12 tokens and predicts the next token at every position. The prompt's positions carry the
// label −100 (crossEntropy's ignoreIndex), so only the 6 answer tokens are learned. Decoding is
// greedy: argmax at position 6 + k gives s(k+1), fed back as the input at position 7 + k.
// GPT-2's layout: pre-norm blocks, token and learned position embeddings, a final layer norm.
const B = 32; //  problems per batch
const L = 12; //  positions read: 6 digits, SEP, the first 5 answer digits
const V = 11; //  tokens: the digits 0–9 and SEP = 10
const D = 32; //  model width
const NH = 2; //  heads
const DH = D / NH; // head size 16
const F = 4 * D; // MLP width

export default defineModel({
  dtype: "float32",
  optimizer: { type: "adamw", lr: 0.003, weightDecay: 0.01 },
  build(g) {
    const tokens = g.input("tokens", [B, L], { dtype: "int32" });
    const targets = g.input("targets", [B, L], { dtype: "int32" }); // −100 at the prompt's positions
    const tok = g.param("tok_emb.weight", [V, D]);
    const pos = g.param("pos_emb.weight", [L, D]);
    let x = g.add(g.embedding(tokens, tok), pos); // [B, L, D]

    // [B, L, D] → [B, NH, L, DH] and back
    const heads = (t: ReturnType<typeof g.input>) => g.transpose(g.reshape(t, [B, L, NH, DH]), [0, 2, 1, 3]);
    const merge = (t: ReturnType<typeof g.input>) => g.reshape(g.transpose(t, [0, 2, 1, 3]), [B, L, D]);

    for (let i = 0; i < 2; i++) {
      const p = `blocks.${i}`;
      const ln = (name: string, t: ReturnType<typeof g.input>) =>
        g.layerNorm(t, g.param(`${p}.${name}.weight`, [D], { init: "ones" }), g.param(`${p}.${name}.bias`, [D]));
      const lin = (name: string, t: ReturnType<typeof g.input>, out: number, inp: number) =>
        g.linear(t, g.param(`${p}.${name}.weight`, [out, inp]), g.param(`${p}.${name}.bias`, [out]));
      // causal self-attention, 2 heads
      const h = ln("ln1", x);
      const q = heads(lin("attn.q", h, D, D));
      const k = heads(lin("attn.k", h, D, D));
      const v = heads(lin("attn.v", h, D, D));
      const o = g.scaledDotProductAttention(q, k, v, { causal: true });
      x = g.add(x, lin("attn.proj", merge(o), D, D));
      // the MLP: D → 4D → GELU → D
      x = g.add(x, lin("mlp.fc2", g.gelu(lin("mlp.fc1", ln("ln2", x), F, D)), D, F));
    }
    const hf = g.layerNorm(x, g.param("ln_f.weight", [D], { init: "ones" }), g.param("ln_f.bias", [D]));
    const logits = g.linear(hf, g.param("head.weight", [V, D]), g.param("head.bias", [V])); // [B, L, V]
    g.output("next", g.argmax(logits, -1)); // the greedy next token at every position
    return g.crossEntropy(logits, targets, { ignoreIndex: -100 });
  },
});
