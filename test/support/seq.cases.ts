/** The op table's cases for the sequence ops of issue 13 (spread into `cases` in ops.cases.ts). */
import type { OpCase } from "./ops.cases.js";
import { attentionRef, concatRef, erfRef, geluRef, geluTanhRef, gruRef, layerNormGradRef, layerNormRef, lstmRef, sig } from "./seq.refs.js";

const map = (f: (v: number) => number) => ([x]: Float64Array[]) => x!.map(f);
/** Repeat a row-major [1, ...rest] tensor `times` times along the first axis. */
const tile = (x: Float64Array, times: number) => Float64Array.from({ length: x.length * times }, (_, i) => x[i % x.length]!);

export const seqCases = {
  erf: [
    { shapes: [[3, 4]], build: (g, [x]) => g.erf(x!), shape: [3, 4], ref: map(erfRef) },
    { shapes: [[5]], build: (g, [x]) => g.erf(g.mul(x!, 3)), shape: [5], ref: map((v) => erfRef(3 * v)) },
    { shapes: [[2, 1, 3]], build: (g, [x]) => g.erf(g.mul(x!, 0.3)), shape: [2, 1, 3], ref: map((v) => erfRef(0.3 * v)) },
  ],
  gelu: [
    { shapes: [[3, 4]], build: (g, [x]) => g.gelu(x!), shape: [3, 4], ref: map(geluRef) },
    { shapes: [[5]], build: (g, [x]) => g.gelu(g.mul(x!, 3), "none"), shape: [5], ref: map((v) => geluRef(3 * v)) },
    { shapes: [[2, 1, 3]], build: (g, [x]) => g.gelu(x!, "tanh"), shape: [2, 1, 3], ref: map(geluTanhRef) },
  ],
  silu: [
    { shapes: [[3, 4]], build: (g, [x]) => g.silu(x!), shape: [3, 4], ref: map((v) => v * sig(v)) },
    { shapes: [[5]], build: (g, [x]) => g.silu(g.mul(x!, 4)), shape: [5], ref: map((v) => 4 * v * sig(4 * v)) },
    { shapes: [[2, 1, 3]], build: (g, [x]) => g.silu(x!), shape: [2, 1, 3], ref: map((v) => v * sig(v)) },
  ],
  concat: [
    { shapes: [[2, 3], [2, 2]], build: (g, [a, b]) => g.concat([a!, b!], 1), shape: [2, 5], ref: ([a, b]) => concatRef([a!, b!], [[2, 3], [2, 2]], 1) },
    { shapes: [[2, 3], [1, 3], [2, 3]], build: (g, [a, b, c]) => g.concat([a!, b!, c!], -2), shape: [5, 3], ref: ([a, b, c]) => concatRef([a!, b!, c!], [[2, 3], [1, 3], [2, 3]], 0) },
    // operands read through transposed views, one of them twice
    { shapes: [[3, 2], [2, 1, 3]], build: (g, [a, b]) => { const bt = g.transpose(b!, [0, 2, 1]); return g.concat([g.reshape(g.transpose(a!), [2, 3, 1]), bt, bt], 2); }, shape: [2, 3, 3],
      ref: ([a, b]) => Float64Array.from({ length: 18 }, (_, o) => { const [i, j, k] = [Math.floor(o / 9), Math.floor(o / 3) % 3, o % 3]; return k === 0 ? a![j * 2 + i]! : b![i * 3 + j]!; }) },
  ],
  stack: [
    { shapes: [[2, 3], [2, 3]], build: (g, [a, b]) => g.stack([a!, b!]), shape: [2, 2, 3], ref: ([a, b]) => Float64Array.from([...a!, ...b!]) },
    { shapes: [[2, 3], [2, 3], [2, 3]], build: (g, [a, b, c]) => g.stack([a!, b!, c!], -1), shape: [2, 3, 3], ref: ([a, b, c]) => Float64Array.from({ length: 18 }, (_, o) => [a!, b!, c!][o % 3]![Math.floor(o / 3)]!) },
    { shapes: [[4], [4]], build: (g, [a, b]) => g.stack([a!, b!, a!], 1), shape: [4, 3], ref: ([a, b]) => Float64Array.from({ length: 12 }, (_, o) => [a!, b!, a!][o % 3]![Math.floor(o / 3)]!) },
  ],
  layerNormalize: [
    { shapes: [[3, 4]], build: (g, [x]) => g.layerNormalize(x!, { dims: 1, eps: 1e-5 }), shape: [3, 4], ref: ([x]) => layerNormRef(x!, 4, 1e-5) },
    { shapes: [[2, 2, 3]], build: (g, [x]) => g.layerNormalize(x!, { dims: 2, eps: 0.1 }), shape: [2, 2, 3], ref: ([x]) => layerNormRef(x!, 6, 0.1) },
    { shapes: [[4, 3]], build: (g, [x]) => g.layerNormalize(g.transpose(x!), { dims: 1, eps: 1e-5 }), shape: [3, 4], ref: ([x]) => layerNormRef(Float64Array.from({ length: 12 }, (_, o) => x![(o % 4) * 3 + Math.floor(o / 4)]!), 4, 1e-5) },
  ],
  layerNormalizeGrad: [
    // its own derivative (second derivatives of layer norm): in x through the statistics, in dy linear
    { shapes: [[3, 4], [3, 4]], build: (g, [x, dy]) => g.layerNormalizeGrad(x!, dy!, { dims: 1, eps: 1e-5 }), shape: [3, 4], ref: ([x, dy]) => layerNormGradRef(x!, dy!, 4, 1e-5) },
    { shapes: [[2, 2, 3], [2, 2, 3]], build: (g, [x, dy]) => g.layerNormalizeGrad(x!, dy!, { dims: 2, eps: 0.1 }), shape: [2, 2, 3], ref: ([x, dy]) => layerNormGradRef(x!, dy!, 6, 0.1) },
    { shapes: [[5], [5]], build: (g, [x, dy]) => g.layerNormalizeGrad(x!, dy!, { dims: 1, eps: 0.01 }), shape: [5], ref: ([x, dy]) => layerNormGradRef(x!, dy!, 5, 0.01) },
  ],
  layerNorm: [
    { shapes: [[3, 4], [4], [4]], build: (g, [x, w, b]) => g.layerNorm(x!, w!, b!), shape: [3, 4], ref: ([x, w, b]) => layerNormRef(x!, 4, 1e-5, w!, b!) },
    { shapes: [[2, 2, 3], [2, 3]], build: (g, [x, w]) => g.layerNorm(x!, w!, undefined, { dims: 2, eps: 1e-3 }), shape: [2, 2, 3], ref: ([x, w]) => layerNormRef(x!, 6, 1e-3, w!) },
    { shapes: [[2, 1, 5], [5]], build: (g, [x, b]) => g.layerNorm(x!, undefined, b!), shape: [2, 1, 5], ref: ([x, b]) => layerNormRef(x!, 5, 1e-5, undefined, b!) },
  ],
  attentionProbs: [
    { shapes: [[3, 2], [4, 2]], build: (g, [q, k]) => g.attentionProbs(q!, k!, { causal: false, scale: 0.7 }), shape: [3, 4], ref: ([q, k]) => attentionRef(q!, k!, undefined, 1, 3, 4, 2, 1, false, 0.7).P },
    { shapes: [[2, 4, 3], [2, 4, 3]], build: (g, [q, k]) => g.attentionProbs(q!, k!, { causal: true, scale: 0.5 }), shape: [2, 4, 4], ref: ([q, k]) => attentionRef(q!, k!, undefined, 2, 4, 4, 3, 1, true, 0.5).P },
    { shapes: [[5, 2], [3, 2]], build: (g, [q, k]) => g.attentionProbs(q!, k!, { causal: true, scale: 1 }), shape: [5, 3], ref: ([q, k]) => attentionRef(q!, k!, undefined, 1, 5, 3, 2, 1, true, 1).P },
  ],
  scaledDotProductAttention: [
    { shapes: [[2, 3, 4], [2, 5, 4], [2, 5, 2]], build: (g, [q, k, v]) => g.scaledDotProductAttention(q!, k!, v!), shape: [2, 3, 2], ref: ([q, k, v]) => attentionRef(q!, k!, v!, 2, 3, 5, 4, 2, false).O },
    { shapes: [[2, 4, 3], [2, 4, 3], [2, 4, 3]], build: (g, [q, k, v]) => g.scaledDotProductAttention(q!, k!, v!, { causal: true }), shape: [2, 4, 3], ref: ([q, k, v]) => attentionRef(q!, k!, v!, 2, 4, 4, 3, 3, true).O },
    // keys and values shared by both batch entries (broadcast), Lq ≠ Lk, causal, a scale of its own
    { shapes: [[2, 3, 2], [1, 2, 2], [2, 1]], build: (g, [q, k, v]) => g.scaledDotProductAttention(q!, k!, v!, { causal: true, scale: 0.9 }), shape: [2, 3, 1],
      ref: ([q, k, v]) => attentionRef(q!, tile(k!, 2), tile(v!, 2), 2, 3, 2, 2, 1, true, 0.9).O },
  ],
  lstmCell: [
    { shapes: [[2, 3], [2, 2], [2, 2], [8, 3], [8, 2], [8], [8]], build: (g, [x, h, c, Wi, Wh, bi, bh]) => { const r = g.lstmCell(x!, h!, c!, Wi!, Wh!, bi!, bh!); return g.concat([r.h, r.c], 1); }, shape: [2, 4],
      ref: ([x, h, c, Wi, Wh, bi, bh]) => { const r = lstmRef(x!, h!, c!, Wi!, Wh!, bi!, bh!, 2, 3, 2); return concatRef([r.h, r.c], [[2, 2], [2, 2]], 1); } },
    { shapes: [[1, 2], [1, 3], [1, 3], [12, 2], [12, 3]], build: (g, [x, h, c, Wi, Wh]) => g.lstmCell(x!, h!, c!, Wi!, Wh!).h, shape: [1, 3], ref: ([x, h, c, Wi, Wh]) => lstmRef(x!, h!, c!, Wi!, Wh!, undefined, undefined, 1, 2, 3).h },
    // two steps, the same weights, only bhh: the state of step 1 feeds step 2
    { shapes: [[2, 2], [2, 1], [2, 1], [4, 2], [4, 1], [4]], build: (g, [x, h, c, Wi, Wh, bh]) => { const s1 = g.lstmCell(x!, h!, c!, Wi!, Wh!, undefined, bh!); return g.lstmCell(x!, s1.h, s1.c, Wi!, Wh!, undefined, bh!).c; }, shape: [2, 1],
      ref: ([x, h, c, Wi, Wh, bh]) => { const s1 = lstmRef(x!, h!, c!, Wi!, Wh!, undefined, bh!, 2, 2, 1); return lstmRef(x!, s1.h, s1.c, Wi!, Wh!, undefined, bh!, 2, 2, 1).c; } },
  ],
  gruCell: [
    { shapes: [[2, 3], [2, 2], [6, 3], [6, 2], [6], [6]], build: (g, [x, h, Wi, Wh, bi, bh]) => g.gruCell(x!, h!, Wi!, Wh!, bi!, bh!), shape: [2, 2], ref: ([x, h, Wi, Wh, bi, bh]) => gruRef(x!, h!, Wi!, Wh!, bi!, bh!, 2, 3, 2) },
    { shapes: [[1, 2], [1, 3], [9, 2], [9, 3]], build: (g, [x, h, Wi, Wh]) => g.gruCell(x!, h!, Wi!, Wh!), shape: [1, 3], ref: ([x, h, Wi, Wh]) => gruRef(x!, h!, Wi!, Wh!, undefined, undefined, 1, 2, 3) },
    { shapes: [[3, 1], [3, 2], [6, 1], [6, 2], [6]], build: (g, [x, h, Wi, Wh, bh]) => g.gruCell(x!, g.gruCell(x!, h!, Wi!, Wh!, undefined, bh!), Wi!, Wh!, undefined, bh!), shape: [3, 2],
      ref: ([x, h, Wi, Wh, bh]) => gruRef(x!, gruRef(x!, h!, Wi!, Wh!, undefined, bh!, 3, 1, 2), Wi!, Wh!, undefined, bh!, 3, 1, 2) },
  ],
} satisfies Record<string, OpCase[]>;
