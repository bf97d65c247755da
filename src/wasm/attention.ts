/**
 * attentionProbs (src/ops/attentionProbs.ts) in WebAssembly SIMD: P = softmax(q·kᵀ·scale) one query
 * row at a time. The scores: the row of q stays in registers, f32x4 along the head size, each key's
 * dot product d/4 multiply-adds and a sum of four lanes, stored scaled, its maximum kept. The
 * softmax: e = exp(S − max) four keys at a time (src/wasm/vmath.ts's eˣ, within an ulp of Math.exp),
 * the row's last keys one at a time through the same lanes, their sum, then each divided by it.
 * With `causal`, query i reads keys 0..i only: the row's key count is a loop bound (known at run
 * time: it grows by one a row), so the mask is the loop bound here too, and the masked
 * probabilities are stored as zeros. One row's code serves every row.
 */
import type { View } from "../lower/view.js";
import { Nest } from "./nest.js";
import { Func, f32const, i32, lane, mem, op, v128zero, type Ins } from "./module.js";
import { Temps, vexp } from "./vmath.js";

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

/** The plan, or undefined where the lanes do not fit: d a multiple of 4, q and k contiguous along it. */
export function planAttention(q: View, k: View, attrs: { causal: boolean; scale: number }): SimdAttention | undefined {
  const r = q.shape.length;
  const [Lq, d] = q.shape.slice(-2) as [number, number];
  const Lk = k.shape[r - 2]!;
  if (d % 4 || q.strides[r - 1] !== 1 || k.strides[r - 1] !== 1) return undefined;
  return { kind: "attention", q, k, lead: q.shape.slice(0, -2), Lq, Lk, d, causal: attrs.causal, scale: attrs.scale };
}

export const attentionReads = (p: SimdAttention): string[] => [p.q.base, p.k.base];

export const attentionHow = (p: SimdAttention): string => `the scores f32x4 along the head size${p.causal ? ", keys j ≤ i only" : ""}, the softmax four keys at a time`;

/** The kernel's function; `addr(base)` is a buffer's arena byte offset, `out` the output's. */
export function simdAttentionFunc(name: string, p: SimdAttention, addr: (base: string) => number, out: number): Func {
  const f = new Func(name);
  const r = p.q.shape.length;
  const Q = addr(p.q.base) + p.q.offset * 4;
  const K = addr(p.k.base) + p.k.offset * 4;
  const [sqi, skj] = [p.q.strides[r - 2]! * 4, p.k.strides[r - 2]! * 4];
  const V = p.d / 4;
  f.comment(`P = softmax(q·kᵀ·${p.scale}): q [${[...p.lead, p.Lq, p.d].join(", ")}], k [${[...p.lead, p.Lk, p.d].join(", ")}], P [${[...p.lead, p.Lq, p.Lk].join(", ")}]${p.causal ? ", query i reads keys 0..i" : ""}`);
  f.comment(`${p.q.base} at byte ${Q}, ${p.k.base} at byte ${K}, P at byte ${out}`);
  const nest = new Nest(f, ["q", "k", "o"]);
  const qv = Array.from({ length: V }, (_, v) => f.local(`qv${v}`, "v128"));
  const [acc, m, sum, sums] = [f.local("acc", "v128"), f.local("m", "f32"), f.local("sum", "f32"), f.local("sums", "v128")];
  // n: the keys the row reads; kp, op: the key and the output element at hand
  const [n, kp, op_] = [f.local("n", "i32"), f.local("kp", "i32"), f.local("op", "i32")];
  const hsum = (v: Ins) => op("f32.add", op("f32.add", lane(0, v), lane(1, v)), op("f32.add", lane(2, v), lane(3, v)));
  const step = (ptr: string, bytes: number) => f.set(ptr, op("i32.add", f.get(ptr), i32(bytes)));
  const at = () => f.get(op_);
  /** One query row, in place at the row's start: its n keys (a run-time count), then Lk − n zeros. */
  const row = () => {
    // S = q·kᵀ·scale and its maximum
    for (let v = 0; v < V; v++) f.set(qv[v]!, mem("v128.load", Q + v * 16, nest.get("q")));
    f.set(m, f32const(-Infinity));
    f.set(kp, nest.get("k"));
    f.set(op_, nest.get("o"));
    f.repeatDynamic("cj", f.get(n), () => {
      let dot: Ins = op("f32x4.mul", f.get(qv[0]!), mem("v128.load", K, f.get(kp)));
      for (let v = 1; v < V; v++) dot = op("f32x4.add", dot, op("f32x4.mul", f.get(qv[v]!), mem("v128.load", K + v * 16, f.get(kp))));
      f.set(acc, dot);
      f.set(sum, op("f32.mul", hsum(f.get(acc)), f32const(p.scale)));
      f.emit(mem("f32.store", out, at(), f.get(sum)));
      f.set(m, op("f32.max", f.get(m), f.get(sum)));
      step(kp, skj);
      step(op_, 4);
    });
    // e = exp(S − max), four keys at a time, then the last n mod 4 one at a time (a splat in, lane 0 out); their sum
    const t = new Temps(f);
    const shifted = (x: Ins) => op("f32x4.sub", x, op("f32x4.splat", f.get(m)));
    f.set(op_, nest.get("o"));
    f.set(sums, v128zero());
    f.repeatDynamic("ce", op("i32.shr_u", f.get(n), i32(2)), () => {
      f.set(acc, vexp(t, shifted(mem("v128.load", out, at()))));
      f.emit(mem("v128.store", out, at(), f.get(acc)));
      f.set(sums, op("f32x4.add", f.get(sums), f.get(acc)));
      step(op_, 16);
    });
    f.set(sum, hsum(f.get(sums)));
    f.repeatDynamic("cs", op("i32.and", f.get(n), i32(3)), () => {
      f.set(acc, vexp(t, shifted(mem("v128.load32_splat", out, at()))));
      f.emit(mem("f32.store", out, at(), lane(0, f.get(acc))));
      f.set(sum, op("f32.add", f.get(sum), lane(0, f.get(acc))));
      step(op_, 4);
    });
    // P = e / Σ e
    f.set(acc, op("f32x4.splat", f.get(sum)));
    f.set(op_, nest.get("o"));
    f.repeatDynamic("cd", op("i32.shr_u", f.get(n), i32(2)), () => {
      f.emit(mem("v128.store", out, at(), op("f32x4.div", mem("v128.load", out, at()), f.get(acc))));
      step(op_, 16);
    });
    f.repeatDynamic("cr", op("i32.and", f.get(n), i32(3)), () => {
      f.emit(mem("f32.store", out, at(), op("f32.div", mem("f32.load", out, at()), f.get(sum))));
      step(op_, 4);
    });
    // the masked keys' probabilities (causal rows): zeros
    if (p.causal)
      f.repeatDynamic("cz", op("i32.sub", i32(p.Lk), f.get(n)), () => {
        f.emit(mem("f32.store", out, at(), f32const(0)));
        step(op_, 4);
      });
  };
  const lead = (a: number): void => {
    if (a < p.lead.length) return nest.level(`cb${a}`, p.lead[a]!, { q: p.q.strides[a]! * 4, k: p.k.strides[a]! * 4, o: p.Lq * p.Lk * 4 * p.lead.slice(a + 1).reduce((x, y) => x * y, 1) }, () => lead(a + 1));
    // causal: row i reads keys 0..i, so n starts at 1 and grows by one a row until it reaches Lk
    f.set(n, i32(p.causal ? Math.min(1, p.Lk) : p.Lk));
    nest.level("ci", p.Lq, { q: sqi, o: p.Lk * 4 }, () => {
      row();
      if (p.causal) f.set(n, op("i32.add", f.get(n), op("i32.lt_s", f.get(n), i32(p.Lk))));
    });
  };
  lead(0);
  return f;
}
