/**
 * attentionProbs(q, k, { causal, scale }): P = softmax(q·kᵀ·scale (+ causal mask)) along the keys,
 * one kernel per row of queries: scores, their maximum, the exponentials and the normalisation.
 * With `causal`, query i reads keys j ≤ i only (top-left aligned, as PyTorch's tril): the loop
 * bound stops at i, no −∞ matrix exists, and the masked probabilities are stored as the zeros
 * they are. scaledDotProductAttention is P·v.
 */
import { FlatgradError, fmtShape, size } from "../ir/shape.js";
import { affine } from "../lower/view.js";
import { planAttention } from "../wasm/attention.js";
import { sameDtype } from "./family.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

export type AttentionAttrs = { causal: boolean; scale: number };

export const attentionProbs: Primitive<(b: Builder, q: TensorLike, k: TensorLike, attrs: AttentionAttrs) => Node, AttentionAttrs> = {
  kind: "primitive",
  doc: "softmax(q·kᵀ·scale) along the keys, query i reading keys j ≤ i only when causal (q [..., Lq, d], k [..., Lk, d], the same batch axes)",
  call: (b, q, k, { causal, scale }) => b.apply("attentionProbs", [b.lift(q, "attentionProbs", "q"), b.lift(k, "attentionProbs", "k")], { causal, scale }),
  dtype: sameDtype("attentionProbs", ["q", "k"]),
  shape: ([q, k]) => {
    const r = q!.length;
    if (r < 2 || k!.length !== r || q![r - 1] !== k![r - 1] || q!.slice(0, -2).some((d, i) => d !== k![i]))
      throw new FlatgradError(`attentionProbs: q is ${fmtShape(q!)} but k is ${fmtShape(k!)}: they must be [..., Lq, d] and [..., Lk, d] with the same batch axes`, undefined, "FG220");
    return [...q!.slice(0, -1), k![r - 2]!];
  },
  eval: ([q, k], [qs, ks], { causal, scale }, out) => {
    const [Lq, d] = qs!.slice(-2) as [number, number];
    const Lk = ks![ks!.length - 2]!;
    const res = new Float64Array(size(out));
    for (let t = 0; t < size(qs!.slice(0, -2)); t++)
      for (let i = 0; i < Lq; i++) {
        const row = (t * Lq + i) * Lk;
        const end = causal ? Math.min(i + 1, Lk) : Lk;
        let m = -Infinity;
        for (let j = 0; j < end; j++) {
          let s = 0;
          for (let p = 0; p < d; p++) s += q![(t * Lq + i) * d + p]! * k![(t * Lk + j) * d + p]!;
          res[row + j] = s * scale;
          m = Math.max(m, s * scale);
        }
        let sum = 0;
        for (let j = 0; j < end; j++) sum += res[row + j] = Math.exp(res[row + j]! - m);
        for (let j = 0; j < end; j++) res[row + j]! /= sum;
      }
    return res;
  },
  // with S = q·kᵀ·scale and P = softmax(S): dS = P ⊙ (dP − rowsum(dP ⊙ P)) (the masked entries of P are
  // 0, so theirs are too), dq = dS·k·scale, dk = dSᵀ·q·scale
  vjp: ({ inputs: [q, k], out: P, dy: dP, attrs: { scale } }, b) => {
    b.role(P, "P");
    b.role(dP, "dP");
    const dS = b.role(b.mul(P, b.sub(dP, b.role(b.sum(b.mul(dP, P), -1, true), "rowsum"))), "dS");
    const r = dS.shape.length;
    const dST = b.transpose(dS, dS.shape.map((_, i) => (i < r - 2 ? i : 2 * r - 3 - i)));
    return [b.role(b.mul(b.matmul(dS, k!), scale), "dq"), b.role(b.mul(b.matmul(dST, q!), scale), "dk")];
  },
  math: ([q, k], { causal, scale }) => `softmax(S), S = ${q}·${k}ᵀ·${+scale.toPrecision(6)}${causal ? " (causal: keys j ≤ i only)" : ""}`,
  torch: ([q, k], { causal, scale }) => `_attention_probs(${q}, ${k}, ${causal ? "True" : "False"}, ${scale})`,
  onnx: (o, [q, k], { causal, scale }, { ins: [qs, ks] }) => {
    const r = ks!.length;
    const perm = [...Array(r).keys()];
    [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
    let s = o.node("Mul", [o.node("MatMul", [q!, o.node("Transpose", [k!], { perm: { ints: perm } })]), o.scalar(scale)]);
    if (causal) {
      // the top-left aligned tril as an additive mask (ONNX has no loop bounds): key j > query i gets −∞
      const [lq, lk] = [qs![qs!.length - 2]!, ks![r - 2]!];
      s = o.node("Add", [s, o.floats(Array.from({ length: lq * lk }, (_, f) => (f % lk > Math.floor(f / lk) ? -Infinity : 0)), [lq, lk])]);
    }
    return o.node("Softmax", [s], { axis: { i: -1 } });
  },
  lower: {
    kind: "kernel",
    // per query row: its offset and the output row's, hoisted; keys two at a time (two dot products
    // sharing each load of q, each summed in order over the head size), then the odd one
    emit: (w, out, [q, k], { causal, scale }) => {
      const s = q!.shape;
      const r = s.length;
      const [Lq, d] = s.slice(-2) as [number, number];
      const Lk = k!.shape[r - 2]!;
      const lead = s.slice(0, -2).map((_, a) => w.local(`b${a}`));
      const [i, j, p, m, sum, end, qi, row, kj] = ["i", "j", "p", "m", "sum", "end", "qi", "row", "kj"].map((n) => w.local(n)) as [string, string, string, string, string, string, string, string, string];
      const [sqp, skj, skp, spj] = [q!.strides[r - 1]!, k!.strides[r - 2]!, k!.strides[r - 1]!, out.strides[r - 1]!];
      const at1 = (base: string, v: string, stride: number) => (stride === 0 ? base : `${base} + ${affine(0, [v], [stride])}`);
      const P = (jj: string) => `${out.base}[${at1(row, jj, spj)}]`;
      const qp = `${q!.base}[${at1(qi, p, sqp)}]!`;
      const kp = (t: number) => `${k!.base}[${at1(t ? `${kj} + ${t * skj}` : kj, p, skp)}]!`;
      const nest = (a: number): void =>
        a < lead.length
          ? w.loop(lead[a]!, s[a]!, () => nest(a + 1))
          : w.loop(i, Lq, () => {
              w.line(`const ${qi} = ${affine(q!.offset, [...lead, i], q!.strides.slice(0, -1))};`);
              w.line(`const ${row} = ${affine(out.offset, [...lead, i], out.strides.slice(0, -1))};`);
              if (causal) {
                w.line(`// causal: query ${i} reads keys 0..${i} only (the loop bound is the mask)`);
                w.line(`const ${end} = ${Lq <= Lk ? `${i} + 1` : `${i} < ${Lk} ? ${i} + 1 : ${Lk}`};`);
              }
              const bound = causal ? end : String(Lk);
              const keys = (body: () => void) => w.block(`for (let ${j} = 0; ${j} < ${bound}; ${j}++)`, body);
              // S = q·kᵀ·scale, and its maximum
              w.line(`let ${m} = -Infinity;`);
              w.line(`let ${j} = 0;`);
              /** keys j … j + n − 1: n dot products over the head size, stored scaled */
              const dots = (n: number) => {
                const acc = Array.from({ length: n }, (_, t) => w.local(`s${t}`));
                w.line(`const ${kj} = ${affine(k!.offset, [...lead, j], k!.strides.slice(0, -1))};`);
                w.line(`let ${acc.map((a) => `${a} = 0`).join(", ")};`);
                w.loop(p, d, () => {
                  if (n === 1) return w.line(`${acc[0]} += ${qp} * ${kp(0)};`);
                  w.line(`const ${w.local("qv")} = ${qp};`);
                  acc.forEach((a, t) => w.line(`${a} += ${w.local("qv")} * ${kp(t)};`));
                });
                acc.forEach((a, t) => {
                  w.line(`${a} *= ${scale};`);
                  w.line(`${P(t ? `${j} + ${t}` : j)} = ${a};`);
                  w.line(`if (${a} > ${m}) ${m} = ${a};`);
                });
              };
              w.block(`for (; ${j} + 1 < ${bound}; ${j} += 2)`, () => dots(2));
              w.block(`if (${j} < ${bound})`, () => dots(1));
              // P = exp(S − max) / Σ exp(S − max)
              w.line(`let ${sum} = 0;`);
              keys(() => w.line(`${sum} += ${P(j)} = Math.exp(${P(j)}! - ${m});`));
              keys(() => w.line(`${P(j)} /= ${sum};`));
              if (causal) w.block(`for (let ${j} = ${end}; ${j} < ${Lk}; ${j}++)`, () => w.line(`${P(j)} = 0;`));
            });
      nest(0);
    },
    // float32: the kernel in WebAssembly SIMD (src/wasm/attention.ts), these loops the fallback
    simd: ([q, k], attrs) => planAttention(q!, k!, attrs),
  },
};
