/**
 * Attention's scores in WebAssembly SIMD: S = q·kᵀ·scale for attentionProbs (src/ops/attentionProbs.ts),
 * one query row at a time, f32x4 along the head size: the row of q stays in registers, each key's
 * dot product is d/4 multiply-adds and a sum of four lanes. With `causal`, query i reads keys 0..i
 * only: the rows are written out one by one (literal key counts), so the mask is the loop bound here
 * too. The softmax over each row (its maximum, the exponentials, the normalisation, the masked zeros)
 * follows in JavaScript, in place.
 */
import type { View } from "../lower/view.js";
import { Nest } from "./conv.js";
import { Func, lane, mem, op, f32const, type Ins } from "./module.js";

export interface SimdAttention {
  kind: "attention";
  /** q [...lead, Lq, d] and k [...lead, Lk, d], each contiguous along d; the output is contiguous [...lead, Lq, Lk]. */
  q: View;
  k: View;
  lead: number[];
  Lq: number;
  Lk: number;
  d: number;
  causal: boolean;
  scale: number;
}

/** Causal rows are written out one by one: up to this many queries. */
const MAX_UNROLLED_ROWS = 128;

/** The plan, or undefined where the lanes do not fit: d a multiple of 4, q and k contiguous along it. */
export function planAttention(q: View, k: View, attrs: { causal: boolean; scale: number }): SimdAttention | undefined {
  const r = q.shape.length;
  const [Lq, d] = q.shape.slice(-2) as [number, number];
  const Lk = k.shape[r - 2]!;
  if (d % 4 || q.strides[r - 1] !== 1 || k.strides[r - 1] !== 1) return undefined;
  if (attrs.causal && Lq > MAX_UNROLLED_ROWS) return undefined;
  return { kind: "attention", q, k, lead: q.shape.slice(0, -2), Lq, Lk, d, causal: attrs.causal, scale: attrs.scale };
}

export const attentionReads = (p: SimdAttention): string[] => [p.q.base, p.k.base];

export const attentionHow = (p: SimdAttention): string => `the scores q·kᵀ·scale, f32x4 along the head size${p.causal ? ", keys j ≤ i only" : ""}`;

/** The scores' function; `addr(base)` is a buffer's arena byte offset, `out` the output's. */
export function simdAttentionFunc(name: string, p: SimdAttention, addr: (base: string) => number, out: number): Func {
  const f = new Func(name);
  const r = p.q.shape.length;
  const Q = addr(p.q.base) + p.q.offset * 4;
  const K = addr(p.k.base) + p.k.offset * 4;
  const [sqi, skj] = [p.q.strides[r - 2]! * 4, p.k.strides[r - 2]! * 4];
  const V = p.d / 4;
  f.comment(`S = q·kᵀ·${p.scale}: q [${[...p.lead, p.Lq, p.d].join(", ")}], k [${[...p.lead, p.Lk, p.d].join(", ")}], S [${[...p.lead, p.Lq, p.Lk].join(", ")}]${p.causal ? ", query i reads keys 0..i" : ""}`);
  f.comment(`${p.q.base} at byte ${Q}, ${p.k.base} at byte ${K}, S at byte ${out}`);
  const nest = new Nest(f, ["q", "k", "o"]);
  const qv = Array.from({ length: V }, (_, v) => f.local(`qv${v}`, "v128"));
  const acc = f.local("acc", "v128");
  // one query row: q in registers, then `keys` dot products, each stored scaled
  const row = (keys: number) => {
    for (let v = 0; v < V; v++) f.set(qv[v]!, mem("v128.load", Q + v * 16, nest.get("q")));
    nest.level("cj", keys, { k: skj, o: 4 }, () => {
      let sum: Ins = op("f32x4.mul", f.get(qv[0]!), mem("v128.load", K, nest.get("k")));
      for (let v = 1; v < V; v++) sum = op("f32x4.add", sum, op("f32x4.mul", f.get(qv[v]!), mem("v128.load", K + v * 16, nest.get("k"))));
      f.set(acc, sum);
      const l = (i: number) => lane(i, f.get(acc));
      f.emit(mem("f32.store", out, nest.get("o"), op("f32.mul", op("f32.add", op("f32.add", l(0), l(1)), op("f32.add", l(2), l(3))), f32const(p.scale))));
    });
  };
  const lead = (a: number): void => {
    if (a < p.lead.length) return nest.level(`cb${a}`, p.lead[a]!, { q: p.q.strides[a]! * 4, k: p.k.strides[a]! * 4, o: p.Lq * p.Lk * 4 * p.lead.slice(a + 1).reduce((x, y) => x * y, 1) }, () => lead(a + 1));
    if (!p.causal) return nest.level("ci", p.Lq, { q: sqi, o: p.Lk * 4 }, () => row(p.Lk));
    // causal: row i has i + 1 keys (all of them once i ≥ Lk)
    for (let i = 0; i < p.Lq; i++) nest.level("ci", 1, {}, () => row(Math.min(i + 1, p.Lk)), { q: i * sqi, o: i * p.Lk * 4 });
  };
  lead(0);
  return f;
}
