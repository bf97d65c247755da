/**
 * The op table: for every op in the registry, sample cases (≥ 3, one with broadcasting or size-1
 * axes), each with its expected shape, a plain-loop reference where the op has values of its own,
 * and the input domain that keeps finite differences away from kinks.
 */
import type { Builder } from "../../src/dsl/builder.js";
import type { Node } from "../../src/ir/graph.js";
import type { OpName } from "../../src/ops/index.js";
import { conv2dRef, convAdjoint, convPrim, pool2dRef } from "./convRef.js";
import { seqCases } from "./seq.cases.js";

export type Domain = "any" | "positive" | "unit" | "prob";
export interface OpCase {
  /** Shapes of the params the case differentiates. */
  shapes: number[][];
  domains?: Domain[];
  build(g: Builder, ps: Node[]): Node;
  shape: number[];
  /** Plain-loop reference of the op's value (`ints`: the int32 inputs' values). */
  ref?(xs: Float64Array[], ints: Record<string, Float64Array>): ArrayLike<number>;
  /** How each int32 input's values are drawn (labels in [0, C), ids in [0, rows), an ignore index now and then). */
  ints?: Record<string, (rand: () => number) => number>;
  /** Piecewise-constant ops: their gradient is zero. */
  zeroGrad?: boolean;
  /** stopGradient: the gradient is zero by definition, whatever finite differences say. */
  stopsGradient?: boolean;
}

// ---------------------------------------------------------------- plain references
const strides = (s: number[]) => s.map((_, i) => s.slice(i + 1).reduce((a, b) => a * b, 1));
const count = (s: number[]) => s.reduce((a, b) => a * b, 1);
/** Elementwise with NumPy broadcasting, written out with explicit multi-indices. */
function ew(shapes: number[][], out: number[], f: (...v: number[]) => number) {
  return (xs: Float64Array[]) => {
    const res = new Float64Array(count(out));
    const os = strides(out);
    for (let o = 0; o < res.length; o++) {
      const idx = out.map((d, k) => Math.floor(o / os[k]!) % d);
      const vals = xs.map((x, j) => {
        const s = shapes[j]!;
        const st = strides(s);
        let off = 0;
        s.forEach((d, k) => (off += (d === 1 ? 0 : idx[k + out.length - s.length]!) * st[k]!));
        return x[off]!;
      });
      res[o] = f(...vals);
    }
    return res;
  };
}
/** Every multi-index of `shape`, row-major. */
function* coords(shape: number[]): Generator<number[]> {
  for (let o = 0; o < count(shape); o++) yield shape.map((d, k) => Math.floor(o / strides(shape)[k]!) % d);
}
const at = (shape: number[], idx: number[]) => idx.reduce((o, v, k) => o + v * strides(shape)[k]!, 0);
/** The windows of x (last k axes), as nested loops over [lead, out, kernel] coordinates. */
function windowRef(x: Float64Array, s: number[], kernel: number[], stride: number[], dilation: number[]) {
  const k = kernel.length;
  const lead = s.slice(0, s.length - k);
  const outs = kernel.map((kd, i) => Math.floor((s[s.length - k + i]! - dilation[i]! * (kd - 1) - 1) / stride[i]!) + 1);
  const shape = [...lead, ...outs, ...kernel];
  const res = new Float64Array(count(shape));
  for (const c of coords(shape)) {
    const l = c.slice(0, lead.length);
    const o = c.slice(lead.length, lead.length + k);
    const q = c.slice(lead.length + k);
    res[at(shape, c)] = x[at(s, [...l, ...o.map((v, i) => v * stride[i]! + q[i]! * dilation[i]!)])]!;
  }
  return res;
}
/** The adjoint of windowRef, by its definition ⟨window(x), y⟩ = ⟨x, overlapAdd(y)⟩: column j of the window matrix. */
function overlapAddRef(y: Float64Array, s: number[], kernel: number[], stride: number[], dilation: number[]) {
  const res = new Float64Array(count(s));
  for (let j = 0; j < res.length; j++) {
    const e = new Float64Array(count(s));
    e[j] = 1;
    res[j] = windowRef(e, s, kernel, stride, dilation).reduce((acc, v, i) => acc + v * y[i]!, 0);
  }
  return res;
}
function padRef(x: Float64Array, s: number[], pads: [number, number][], value: number) {
  const out = s.map((d, i) => d + pads[i]![0] + pads[i]![1]);
  const res = new Float64Array(count(out));
  for (const c of coords(out)) {
    const src = c.map((v, i) => v - pads[i]![0]);
    res[at(out, c)] = src.every((v, i) => v >= 0 && v < s[i]!) ? x[at(s, src)]! : value;
  }
  return res;
}
function sliceRef(x: Float64Array, s: number[], axis: number, start: number, end: number) {
  const out = s.map((d, i) => (i === axis ? end - start : d));
  const res = new Float64Array(count(out));
  for (const c of coords(out)) res[at(out, c)] = x[at(s, c.map((v, i) => (i === axis ? v + start : v)))]!;
  return res;
}

/** log Σ exp along `axis` (kept), directly: log of the sum of exponentials, no shift (the test values are small). */
function lseRef(x: Float64Array, s: number[], axis: number) {
  const out = s.map((d, i) => (i === axis ? 1 : d));
  const res = new Float64Array(count(out));
  for (const c of coords(s)) {
    const o = at(out, c.map((v, i) => (i === axis ? 0 : v)));
    res[o] = res[o]! + Math.exp(x[at(s, c)]!);
  }
  return res.map(Math.log);
}

function mm2(a: Float64Array, b: Float64Array, m: number, k: number, n: number, ta = false, tb = false) {
  const r = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (ta ? a[p * m + i]! : a[i * k + p]!) * (tb ? b[j * k + p]! : b[p * n + j]!);
      r[i * n + j] = s;
    }
  return r;
}
/** Reduce a [r0, r1, r2] tensor over a mask of axes. */
function red3(x: Float64Array, s: number[], axes: number[], init: number, f: (a: number, v: number) => number) {
  const keep = s.map((d, i) => (axes.includes(i) ? 1 : d));
  const res = new Float64Array(count(keep)).fill(init);
  const [A, B, C] = [s[0] ?? 1, s[1] ?? 1, s[2] ?? 1];
  const [KA, KB, KC] = [keep[0] ?? 1, keep[1] ?? 1, keep[2] ?? 1];
  for (let a = 0; a < A; a++)
    for (let b = 0; b < B; b++)
      for (let c = 0; c < C; c++) {
        const o = (KA === 1 ? 0 : a) * KB * KC + (KB === 1 ? 0 : b) * KC + (KC === 1 ? 0 : c);
        res[o] = f(res[o]!, x[a * B * C + b * C + c]!);
      }
  return res;
}
function rowsSoftmax(x: Float64Array, rows: number, cols: number, log: boolean) {
  const r = new Float64Array(x.length);
  for (let i = 0; i < rows; i++) {
    let m = -Infinity;
    for (let j = 0; j < cols; j++) m = Math.max(m, x[i * cols + j]!);
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(x[i * cols + j]! - m);
    for (let j = 0; j < cols; j++) r[i * cols + j] = log ? x[i * cols + j]! - m - Math.log(s) : Math.exp(x[i * cols + j]! - m) / s;
  }
  return r;
}
const sumAll = (x: ArrayLike<number>) => Array.from(x).reduce((a, b) => a + b, 0);

/** argmax along `axis` (first maximum on ties), with explicit multi-indices. */
function argmaxRef(x: Float64Array, s: number[], axis: number) {
  const out = s.filter((_, i) => i !== axis);
  const res = new Float64Array(count(out));
  for (const c of coords(out)) {
    let best = 0;
    for (let k = 1; k < s[axis]!; k++) {
      const idx = (j: number) => at(s, [...c.slice(0, axis), j, ...c.slice(axis)]);
      if (x[idx(k)]! > x[idx(best)]!) best = k;
    }
    res[at(out, c)] = best;
  }
  return res;
}
/** F.cross_entropy with classes last: the mean over kept labels of (1 − ε)·(−log p[y]) + ε·mean_c(−log p_c). */
function crossEntropyRef(z: Float64Array, labels: Float64Array, C: number, ignore: number, eps: number) {
  const logp = rowsSoftmax(z, labels.length, C, true);
  let total = 0;
  let kept = 0;
  labels.forEach((y, i) => {
    if (y === ignore) return;
    kept++;
    let mean = 0;
    for (let c = 0; c < C; c++) mean -= logp[i * C + c]! / C;
    total += (1 - eps) * -logp[i * C + y]! + eps * mean;
  });
  return [total / kept];
}
const gatherRef = (table: Float64Array, ids: Float64Array, dim: number) => Float64Array.from({ length: ids.length * dim }, (_, o) => table[ids[Math.floor(o / dim)]! * dim + (o % dim)]!);
function scatterRef(src: Float64Array, ids: Float64Array, rows: number, dim: number) {
  const res = new Float64Array(rows * dim);
  ids.forEach((id, i) => {
    for (let d = 0; d < dim; d++) res[id * dim + d] = res[id * dim + d]! + src[i * dim + d]!;
  });
  return res;
}
/** A label in [0, n), or `ignore` with probability `p`. */
const label = (n: number, ignore?: number, p = 0.25) => (r: () => number) => (ignore !== undefined && r() < p ? ignore : Math.floor(r() * n));

// ---------------------------------------------------------------- pooling's own kernels: plain references
/** Each pooling window's first maximum (strictly greater moves it: ties stay at the first), as h·W + w in its plane. */
function poolArgmaxRef(x: ArrayLike<number>, shape: number[], k: number[], st: number[], pad: number[]) {
  const [H, W] = shape.slice(-2) as [number, number];
  const planes = count(shape) / (H * W);
  const [OH, OW] = [0, 1].map((a) => Math.floor((shape[shape.length - 2 + a]! + 2 * pad[a]! - k[a]!) / st[a]!) + 1) as [number, number];
  const res = new Float64Array(planes * OH * OW);
  for (let p = 0; p < planes; p++)
    for (let i = 0; i < OH; i++)
      for (let j = 0; j < OW; j++) {
        let best = -Infinity;
        let where = -1;
        for (let u = 0; u < k[0]!; u++)
          for (let v = 0; v < k[1]!; v++) {
            const [r, c] = [i * st[0]! - pad[0]! + u, j * st[1]! - pad[1]! + v];
            if (r < 0 || r >= H || c < 0 || c >= W) continue;
            if (where < 0 || x[p * H * W + r * W + c]! > best) [best, where] = [x[p * H * W + r * W + c]!, r * W + c];
          }
        res[(p * OH + i) * OW + j] = where;
      }
  return res;
}
/** y[o] = x[plane of o, idx[o]] (x row-major [..., H·W]). */
const planeGatherRef = (x: ArrayLike<number>, idx: ArrayLike<number>, HW: number, per: number) => Float64Array.from({ length: idx.length }, (_, o) => x[Math.floor(o / per) * HW + idx[o]!]!);
/** dx = 0; dx[plane of o, idx[o]] += dy[o]. */
function planeScatterRef(dy: ArrayLike<number>, idx: ArrayLike<number>, HW: number, per: number, n: number) {
  const res = new Float64Array(n);
  for (let o = 0; o < idx.length; o++) {
    const j = Math.floor(o / per) * HW + idx[o]!;
    res[j] = res[j]! + dy[o]!;
  }
  return res;
}
/** The adjoint of average pooling by its definition ⟨avgpool(x), dy⟩ = ⟨x, dx⟩: column j of the pooling matrix. */
function avgPoolGradRef(dy: Float64Array, shape: number[], k: [number, number], st: [number, number], pad: [number, number], countIncludePad = true) {
  const res = new Float64Array(count(shape));
  for (let j = 0; j < res.length; j++) {
    const e = new Float64Array(count(shape));
    e[j] = 1;
    res[j] = pool2dRef("avg", e, shape, k, st, pad, countIncludePad).y.reduce((acc, v, i) => acc + v * dy[i]!, 0);
  }
  return res;
}
/** [..., A, B] row-major → its transpose [..., B, A], row-major. */
const swapLast = (x: ArrayLike<number>, shape: number[]) => {
  const [A, B] = shape.slice(-2) as [number, number];
  return Float64Array.from({ length: x.length }, (_, o) => {
    const p = Math.floor(o / (A * B));
    const [b, a] = [Math.floor((o % (A * B)) / A), o % A];
    return x[p * A * B + a * B + b]!;
  });
};
const pw = (kernel: number[], stride: number[], padding: number[]) => ({ kernel, stride, padding });

// ---------------------------------------------------------------- cases
const unaryCases = (op: (g: Builder, x: Node) => Node, f: (v: number) => number, domain: Domain = "any"): OpCase[] =>
  [[7], [3, 4], [2, 1, 3]].map((s) => ({ shapes: [s], domains: [domain], build: (g, [x]) => op(g, x!), shape: s, ref: ew([s], s, f) }));
const binaryCases = (op: (g: Builder, a: Node, b: Node) => Node, f: (a: number, b: number) => number, d: Domain[] = ["any", "any"]): OpCase[] => [
  { shapes: [[3, 4], [3, 4]], domains: d, build: (g, [a, b]) => op(g, a!, b!), shape: [3, 4], ref: ew([[3, 4], [3, 4]], [3, 4], f) },
  { shapes: [[2, 3, 4], [4]], domains: d, build: (g, [a, b]) => op(g, a!, b!), shape: [2, 3, 4], ref: ew([[2, 3, 4], [4]], [2, 3, 4], f) },
  { shapes: [[3, 1], [1, 5]], domains: d, build: (g, [a, b]) => op(g, a!, b!), shape: [3, 5], ref: ew([[3, 1], [1, 5]], [3, 5], f) },
  { shapes: [[]], domains: [d[0]!], build: (g, [a]) => op(g, a!, a!), shape: [], ref: ew([[]], [], (v) => f(v, v)) },
];

// ---------------------------------------------------------------- batch norm and dropout (state and modes)
/** Per-channel (axis 1) mean and 1/√(biased variance + ε), by explicit multi-indices. */
function bnChannels(x: Float64Array, s: number[], eps: number) {
  const C = s[1]!;
  const m = count(s) / C;
  const ch = (o: number) => Math.floor(o / strides(s)[1]!) % C;
  const mu = new Array<number>(C).fill(0);
  for (let o = 0; o < x.length; o++) mu[ch(o)]! += x[o]! / m;
  const q = new Array<number>(C).fill(0);
  for (let o = 0; o < x.length; o++) q[ch(o)]! += (x[o]! - mu[ch(o)]!) ** 2 / m;
  return { ch, mu, inv: q.map((v) => 1 / Math.sqrt(v + eps)), m };
}
/** x̂ = (x − μ)/√(σ² + ε) per channel, σ² biased. */
function bnRef(x: Float64Array, s: number[], eps: number) {
  const { ch, mu, inv } = bnChannels(x, s, eps);
  return x.map((v, o) => (v - mu[ch(o)]!) * inv[ch(o)]!);
}
/** dx of x̂ for dy, written as the chain rule through μ and σ² term by term (not the closed form). */
function bnGradRef(x: Float64Array, dy: Float64Array, s: number[], eps: number) {
  const { ch, mu, inv, m } = bnChannels(x, s, eps);
  const C = s[1]!;
  // dL/dσ² = Σ dy·(x − μ)·(−½)(σ² + ε)^(−3/2); dL/dμ = −Σ dy/√(σ² + ε) (its σ² part is 0: Σ (x − μ) = 0)
  const dvar = new Array<number>(C).fill(0);
  const dmu = new Array<number>(C).fill(0);
  for (let o = 0; o < x.length; o++) {
    dvar[ch(o)]! += dy[o]! * (x[o]! - mu[ch(o)]!) * -0.5 * inv[ch(o)]! ** 3;
    dmu[ch(o)]! -= dy[o]! * inv[ch(o)]!;
  }
  return x.map((v, o) => dy[o]! * inv[ch(o)]! + (dvar[ch(o)]! * 2 * (v - mu[ch(o)]!)) / m + dmu[ch(o)]! / m);
}
/** batchNorm in eval mode with zero running statistics (the buffers' default init): x/√ε·w + b. */
const bnEvalRef = (s: number[], eps: number) => ([x, w, b]: Float64Array[]) => {
  const C = s[1]!;
  const ch = (o: number) => Math.floor(o / strides(s)[1]!) % C;
  return x!.map((v, o) => (v / Math.sqrt(eps)) * (w ? w[ch(o)]! : 1) + (b ? b[ch(o)]! : 0));
};

export const cases: Record<OpName, OpCase[]> = {
  input: [1, 2, 3].map((n) => ({ shapes: [[n]], build: (g, [p]) => g.mul(p!, g.sum(g.input(`x${n}`, [n]))), shape: [n] })),
  param: [[5], [2, 3], [1]].map((s) => ({ shapes: [s], build: (_g, [p]) => p!, shape: s, ref: ([x]) => x! })),
  // a buffer reads its current value (its init, zeros, in these cases) and takes no gradient
  buffer: [
    { shapes: [[3]], build: (g, [p]) => g.mul(p!, g.add(g.buffer("b", [3]), 1.5)), shape: [3], ref: ([x]) => x!.map((v) => 1.5 * v) },
    { shapes: [[2, 3]], build: (g, [p]) => g.mul(p!, g.sub(g.buffer("b", [3]), 2)), shape: [2, 3], ref: ([x]) => x!.map((v) => -2 * v) },
    { shapes: [[2]], build: (g, [p]) => g.add(g.square(p!), g.buffer("b.running_mean", [2, 1])), shape: [2, 2], ref: ([x]) => [x![0]! ** 2, x![1]! ** 2, x![0]! ** 2, x![1]! ** 2] },
  ],
  constant: [
    { shapes: [[3]], build: (g, [p]) => g.mul(p!, g.constant([1, -2, 0.5])), shape: [3], ref: ([x]) => [x![0]!, -2 * x![1]!, 0.5 * x![2]!] },
    { shapes: [[2, 2]], build: (g, [p]) => g.add(p!, g.constant(3, [2, 2])), shape: [2, 2], ref: ([x]) => x!.map((v) => v + 3) },
    { shapes: [[2]], build: (g, [p]) => g.sub(p!, g.constant([1, 2, 3, 4], [2, 2])), shape: [2, 2], ref: ([x]) => [x![0]! - 1, x![1]! - 2, x![0]! - 3, x![1]! - 4] },
  ],
  output: [[3], [2, 2], []].map((s) => ({ shapes: [s], build: (g, [p]) => g.output("o", g.mul(p!, 2)), shape: s, ref: ([x]) => x!.map((v) => 2 * v) })),
  add: binaryCases((g, a, b) => g.add(a, b), (a, b) => a + b),
  sub: binaryCases((g, a, b) => g.sub(a, b), (a, b) => a - b),
  mul: binaryCases((g, a, b) => g.mul(a, b), (a, b) => a * b),
  div: binaryCases((g, a, b) => g.div(a, b), (a, b) => a / b, ["any", "positive"]),
  maximum: binaryCases((g, a, b) => g.maximum(a, b), Math.max).slice(0, 3),
  minimum: binaryCases((g, a, b) => g.minimum(a, b), Math.min).slice(0, 3),
  ge: binaryCases((g, a, b) => g.ge(a, b), (a, b) => (a >= b ? 1 : 0)).slice(0, 3).map((c) => ({ ...c, zeroGrad: true })),
  pow: [
    ...unaryCases((g, x) => g.pow(x, 3), (v) => v ** 3).slice(0, 2),
    ...unaryCases((g, x) => g.pow(x, -1.5), (v) => v ** -1.5, "positive").slice(1),
  ],
  neg: unaryCases((g, x) => g.neg(x), (v) => -v),
  exp: unaryCases((g, x) => g.exp(x), Math.exp),
  log: unaryCases((g, x) => g.log(x), Math.log, "positive"),
  sqrt: unaryCases((g, x) => g.sqrt(x), Math.sqrt, "positive"),
  abs: unaryCases((g, x) => g.abs(x), Math.abs),
  sign: unaryCases((g, x) => g.sign(x), Math.sign).map((c) => ({ ...c, zeroGrad: true })),
  square: unaryCases((g, x) => g.square(x), (v) => v * v),
  tanh: unaryCases((g, x) => g.tanh(x), Math.tanh),
  sigmoid: unaryCases((g, x) => g.sigmoid(x), (v) => 1 / (1 + Math.exp(-v))),
  relu: unaryCases((g, x) => g.relu(x), (v) => Math.max(v, 0)),
  heaviside: unaryCases((g, x) => g.heaviside(x), (v) => (v > 0 ? 1 : 0)).map((c) => ({ ...c, zeroGrad: true })),
  leakyRelu: [
    ...unaryCases((g, x) => g.leakyRelu(x), (v) => (v > 0 ? v : 0.01 * v)).slice(0, 2),
    ...unaryCases((g, x) => g.leakyRelu(x, 0.2), (v) => (v > 0 ? v : 0.2 * v)).slice(2),
  ],
  softplus: unaryCases((g, x) => g.softplus(x), (v) => Math.log(1 + Math.exp(v))),
  matmul: [
    { shapes: [[3, 4], [4, 5]], build: (g, [a, b]) => g.matmul(a!, b!), shape: [3, 5], ref: ([a, b]) => mm2(a!, b!, 3, 4, 5) },
    { shapes: [[4], [4, 2]], build: (g, [a, b]) => g.matmul(a!, b!), shape: [2], ref: ([a, b]) => mm2(a!, b!, 1, 4, 2) },
    { shapes: [[3, 4], [4]], build: (g, [a, b]) => g.matmul(a!, b!), shape: [3], ref: ([a, b]) => mm2(a!, b!, 3, 4, 1) },
    { shapes: [[4], [4]], build: (g, [a, b]) => g.matmul(a!, b!), shape: [], ref: ([a, b]) => mm2(a!, b!, 1, 4, 1) },
    {
      shapes: [[2, 3, 4], [4, 2]],
      build: (g, [a, b]) => g.matmul(a!, b!),
      shape: [2, 3, 2],
      ref: ([a, b]) => [...mm2(a!.subarray(0, 12), b!, 3, 4, 2), ...mm2(a!.subarray(12), b!, 3, 4, 2)],
    },
    {
      shapes: [[2, 3, 4], [1, 4, 2]],
      build: (g, [a, b]) => g.matmul(g.transpose(a!, [0, 1, 2]), b!),
      shape: [2, 3, 2],
      ref: ([a, b]) => [...mm2(a!.subarray(0, 12), b!, 3, 4, 2), ...mm2(a!.subarray(12), b!, 3, 4, 2)],
    },
    {
      shapes: [[2, 4, 3], [2, 2, 4]],
      build: (g, [a, b]) => g.matmul(g.transpose(a!, [0, 2, 1]), g.transpose(b!, [0, 2, 1])),
      shape: [2, 3, 2],
      ref: ([a, b]) => [...mm2(a!.subarray(0, 12), b!.subarray(0, 8), 3, 4, 2, true, true), ...mm2(a!.subarray(12), b!.subarray(8), 3, 4, 2, true, true)],
    },
  ],
  linear: [
    { shapes: [[3, 4], [5, 4], [5]], build: (g, [x, W, b]) => g.linear(x!, W!, b!), shape: [3, 5], ref: ([x, W, b]) => mm2(x!, W!, 3, 4, 5, false, true).map((v, i) => v + b![i % 5]!) },
    { shapes: [[4], [2, 4]], build: (g, [x, W]) => g.linear(x!, W!), shape: [2], ref: ([x, W]) => mm2(x!, W!, 1, 4, 2, false, true) },
    {
      shapes: [[2, 3, 4], [2, 4], [2]],
      build: (g, [x, W, b]) => g.linear(x!, W!, b!),
      shape: [2, 3, 2],
      ref: ([x, W, b]) => mm2(x!, W!, 6, 4, 2, false, true).map((v, i) => v + b![i % 2]!),
    },
  ],
  transpose: [
    { shapes: [[3, 4]], build: (g, [x]) => g.transpose(x!), shape: [4, 3], ref: ([x]) => Array.from({ length: 12 }, (_, o) => x![(o % 3) * 4 + Math.floor(o / 3)]!) },
    { shapes: [[2, 3, 4]], build: (g, [x]) => g.transpose(x!, [1, 2, 0]), shape: [3, 4, 2], ref: ([x]) => Array.from({ length: 24 }, (_, o) => x![(o % 2) * 12 + Math.floor(o / 8) * 4 + (Math.floor(o / 2) % 4)]!) },
    { shapes: [[1, 5]], build: (g, [x]) => g.mul(g.transpose(x!), g.transpose(x!, [-1, -2])), shape: [5, 1], ref: ([x]) => x!.map((v) => v * v) },
  ],
  reshape: [
    { shapes: [[2, 6]], build: (g, [x]) => g.reshape(x!, [3, 4]), shape: [3, 4], ref: ([x]) => x! },
    { shapes: [[2, 3]], build: (g, [x]) => g.reshape(g.transpose(x!), [6]), shape: [6], ref: ([x]) => [0, 3, 1, 4, 2, 5].map((i) => x![i]!) },
    { shapes: [[4, 1]], build: (g, [x]) => g.add(g.reshape(x!, [-1]), 1), shape: [4], ref: ([x]) => x!.map((v) => v + 1) },
  ],
  broadcastTo: [
    { shapes: [[3]], build: (g, [x]) => g.broadcastTo(x!, [2, 3]), shape: [2, 3], ref: ([x]) => [...x!, ...x!] },
    { shapes: [[2, 1]], build: (g, [x]) => g.broadcastTo(x!, [2, 3]), shape: [2, 3], ref: ([x]) => [x![0]!, x![0]!, x![0]!, x![1]!, x![1]!, x![1]!] },
    { shapes: [[]], build: (g, [x]) => g.broadcastTo(x!, [2, 2]), shape: [2, 2], ref: ([x]) => [x![0]!, x![0]!, x![0]!, x![0]!] },
  ],
  pad: [
    { shapes: [[2, 3]], build: (g, [x]) => g.pad(x!, [[1, 0], [2, 1]]), shape: [3, 6], ref: ([x]) => padRef(x!, [2, 3], [[1, 0], [2, 1]], 0) },
    { shapes: [[3]], build: (g, [x]) => g.pad(x!, [[2, 2]], 1.5), shape: [7], ref: ([x]) => padRef(x!, [3], [[2, 2]], 1.5) },
    { shapes: [[2, 2, 2]], build: (g, [x]) => g.pad(x!, [[0, 1], [1, 0], [0, 0]]), shape: [3, 3, 2], ref: ([x]) => padRef(x!, [2, 2, 2], [[0, 1], [1, 0], [0, 0]], 0) },
  ],
  slice: [
    { shapes: [[4, 5]], build: (g, [x]) => g.slice(x!, 1, 1, 4), shape: [4, 3], ref: ([x]) => sliceRef(x!, [4, 5], 1, 1, 4) },
    { shapes: [[6]], build: (g, [x]) => g.slice(x!, 0, -3), shape: [3], ref: ([x]) => sliceRef(x!, [6], 0, 3, 6) },
    { shapes: [[2, 3, 4]], build: (g, [x]) => g.slice(x!, -2, 0, 2), shape: [2, 2, 4], ref: ([x]) => sliceRef(x!, [2, 3, 4], 1, 0, 2) },
  ],
  window: [
    { shapes: [[1, 2, 5, 5]], build: (g, [x]) => g.window(x!, [3, 3]), shape: [1, 2, 3, 3, 3, 3], ref: ([x]) => windowRef(x!, [1, 2, 5, 5], [3, 3], [1, 1], [1, 1]) },
    { shapes: [[2, 7]], build: (g, [x]) => g.window(x!, 3, { stride: 2 }), shape: [2, 3, 3], ref: ([x]) => windowRef(x!, [2, 7], [3], [2], [1]) },
    { shapes: [[1, 6, 6]], build: (g, [x]) => g.window(x!, [2, 2], { stride: 2 }), shape: [1, 3, 3, 2, 2], ref: ([x]) => windowRef(x!, [1, 6, 6], [2, 2], [2, 2], [1, 1]) },
    { shapes: [[7, 7]], build: (g, [x]) => g.window(x!, [3, 2], { stride: [1, 2], dilation: [2, 1] }), shape: [3, 3, 3, 2], ref: ([x]) => windowRef(x!, [7, 7], [3, 2], [1, 2], [2, 1]) },
  ],
  overlapAdd: [
    { shapes: [[3, 4, 2, 2]], build: (g, [y]) => g.overlapAdd(y!, { shape: [4, 5], kernel: [2, 2], stride: [1, 1], dilation: [1, 1] }), shape: [4, 5], ref: ([y]) => overlapAddRef(y!, [4, 5], [2, 2], [1, 1], [1, 1]) },
    { shapes: [[2, 3, 3]], build: (g, [y]) => g.overlapAdd(y!, { shape: [2, 7], kernel: [3], stride: [2], dilation: [1] }), shape: [2, 7], ref: ([y]) => overlapAddRef(y!, [2, 7], [3], [2], [1]) },
    { shapes: [[1, 3, 3, 3, 3]], build: (g, [y]) => g.overlapAdd(y!, { shape: [1, 7, 7], kernel: [3, 3], stride: [2, 2], dilation: [1, 1] }), shape: [1, 7, 7], ref: ([y]) => overlapAddRef(y!, [1, 7, 7], [3, 3], [2, 2], [1, 1]) },
  ],
  // forward is eval mode (the second value), lossAndGrad is training (the first): the table checks both
  byMode: [
    { shapes: [[3, 4]], build: (g, [x]) => g.byMode(g.mul(x!, 2), g.exp(x!)), shape: [3, 4], ref: ([x]) => x!.map(Math.exp) },
    { shapes: [[2, 3], [3]], build: (g, [x, y]) => g.byMode(g.mul(x!, y!), g.add(x!, y!)), shape: [2, 3], ref: ([x, y]) => x!.map((v, i) => v + y![i % 3]!) },
    { shapes: [[5]], build: (g, [x]) => g.byMode(g.tanh(x!), x!), shape: [5], ref: ([x]) => Float64Array.from(x!) },
  ],
  stopGradient: unaryCases((g, x) => g.stopGradient(x), (v) => v).map((c) => ({ ...c, stopsGradient: true })),
  sum: [
    { shapes: [[3, 4]], build: (g, [x]) => g.sum(x!), shape: [], ref: ([x]) => [sumAll(x!)] },
    { shapes: [[2, 3, 4]], build: (g, [x]) => g.sum(x!, [0, 2]), shape: [3], ref: ([x]) => red3(x!, [2, 3, 4], [0, 2], 0, (a, v) => a + v) },
    { shapes: [[2, 3, 4]], build: (g, [x]) => g.sum(x!, -2, true), shape: [2, 1, 4], ref: ([x]) => red3(x!, [2, 3, 4], [1], 0, (a, v) => a + v) },
    { shapes: [[3, 1]], build: (g, [x]) => g.sum(x!, 0), shape: [1], ref: ([x]) => [sumAll(x!)] },
  ],
  mean: [
    { shapes: [[3, 4]], build: (g, [x]) => g.mean(x!), shape: [], ref: ([x]) => [sumAll(x!) / 12] },
    { shapes: [[2, 3, 4]], build: (g, [x]) => g.mean(x!, [1], true), shape: [2, 1, 4], ref: ([x]) => red3(x!, [2, 3, 4], [1], 0, (a, v) => a + v).map((v) => v / 3) },
    { shapes: [[2, 3, 4]], build: (g, [x]) => g.mean(x!, [0, -1]), shape: [3], ref: ([x]) => red3(x!, [2, 3, 4], [0, 2], 0, (a, v) => a + v).map((v) => v / 8) },
  ],
  max: [
    { shapes: [[3, 4]], build: (g, [x]) => g.max(x!), shape: [], ref: ([x]) => [Math.max(...x!)] },
    { shapes: [[2, 3, 4]], build: (g, [x]) => g.max(x!, [0, 2]), shape: [3], ref: ([x]) => red3(x!, [2, 3, 4], [0, 2], -Infinity, Math.max) },
    { shapes: [[2, 3, 4]], build: (g, [x]) => g.max(x!, 1, true), shape: [2, 1, 4], ref: ([x]) => red3(x!, [2, 3, 4], [1], -Infinity, Math.max) },
  ],
  logSumExp: [
    { shapes: [[3, 4]], build: (g, [x]) => g.logSumExp(x!), shape: [3, 1], ref: ([x]) => lseRef(x!, [3, 4], 1) },
    { shapes: [[2, 3, 4]], build: (g, [x]) => g.logSumExp(x!, 1), shape: [2, 1, 4], ref: ([x]) => lseRef(x!, [2, 3, 4], 1) },
    { shapes: [[5]], build: (g, [x]) => g.logSumExp(x!, 0), shape: [1], ref: ([x]) => lseRef(x!, [5], 0) },
  ],
  argmaxMask: [
    { shapes: [[3, 4]], build: (g, [x]) => g.argmaxMask(x!), shape: [3, 4], zeroGrad: true, ref: ([x]) => x!.map((v) => (v === Math.max(...x!) ? 1 : 0)) },
    {
      shapes: [[2, 3]],
      build: (g, [x]) => g.argmaxMask(x!, 1),
      shape: [2, 3],
      zeroGrad: true,
      ref: ([x]) => x!.map((v, i) => (v === Math.max(...x!.subarray(i < 3 ? 0 : 3, i < 3 ? 3 : 6)) ? 1 : 0)),
    },
    {
      shapes: [[2, 3]],
      build: (g, [x]) => g.argmaxMask(x!, 0),
      shape: [2, 3],
      zeroGrad: true,
      ref: ([x]) => x!.map((v, i) => (v === Math.max(x![i % 3]!, x![(i % 3) + 3]!) ? 1 : 0)),
    },
  ],
  softmax: [
    { shapes: [[3, 4]], build: (g, [x]) => g.softmax(x!), shape: [3, 4], ref: ([x]) => rowsSoftmax(x!, 3, 4, false) },
    { shapes: [[5]], build: (g, [x]) => g.softmax(x!, 0), shape: [5], ref: ([x]) => rowsSoftmax(x!, 1, 5, false) },
    { shapes: [[2, 1, 3]], build: (g, [x]) => g.softmax(x!, -1), shape: [2, 1, 3], ref: ([x]) => rowsSoftmax(x!, 2, 3, false) },
  ],
  logSoftmax: [
    { shapes: [[3, 4]], build: (g, [x]) => g.logSoftmax(x!), shape: [3, 4], ref: ([x]) => rowsSoftmax(x!, 3, 4, true) },
    { shapes: [[5]], build: (g, [x]) => g.logSoftmax(x!), shape: [5], ref: ([x]) => rowsSoftmax(x!, 1, 5, true) },
    { shapes: [[4, 2]], build: (g, [x]) => g.transpose(g.logSoftmax(g.transpose(x!), -1)), shape: [4, 2], ref: ([x]) => { const t = [0, 2, 4, 6, 1, 3, 5, 7].map((i) => x![i]!); const r = rowsSoftmax(Float64Array.from(t), 2, 4, true); return [0, 4, 1, 5, 2, 6, 3, 7].map((i) => r[i]!); } },
  ],
  mse: [
    { shapes: [[4], [4]], build: (g, [p, t]) => g.mse(p!, t!), shape: [], ref: ([p, t]) => [sumAll(p!.map((v, i) => (v - t![i]!) ** 2)) / 4] },
    { shapes: [[3, 2], [3, 2]], build: (g, [p, t]) => g.mse(p!, t!), shape: [], ref: ([p, t]) => [sumAll(p!.map((v, i) => (v - t![i]!) ** 2)) / 6] },
    { shapes: [[1, 1], [1, 1]], build: (g, [p, t]) => g.mse(p!, t!), shape: [], ref: ([p, t]) => [(p![0]! - t![0]!) ** 2] },
  ],
  bce: [
    { shapes: [[4], [4]], domains: ["prob", "unit"], build: (g, [p, t]) => g.bce(p!, t!), shape: [], ref: ([p, t]) => [-sumAll(p!.map((v, i) => t![i]! * Math.log(v) + (1 - t![i]!) * Math.log(1 - v))) / 4] },
    { shapes: [[3, 2], [3, 2]], domains: ["prob", "unit"], build: (g, [p, t]) => g.bce(p!, t!), shape: [], ref: ([p, t]) => [-sumAll(p!.map((v, i) => t![i]! * Math.log(v) + (1 - t![i]!) * Math.log(1 - v))) / 6] },
    { shapes: [[1], [1]], domains: ["prob", "unit"], build: (g, [p, t]) => g.bce(p!, t!), shape: [], ref: ([p, t]) => [-(t![0]! * Math.log(p![0]!) + (1 - t![0]!) * Math.log(1 - p![0]!))] },
  ],
  bceTerm: binaryCases((g, p, t) => g.bceTerm(p, t), (p, t) => -(t * Math.log(p) + (1 - t) * Math.log(1 - p)), ["prob", "unit"]).slice(0, 3),
  bceWithLogits: [
    { shapes: [[4], [4]], domains: ["any", "unit"], build: (g, [z, t]) => g.bceWithLogits(z!, t!), shape: [], ref: ([z, t]) => [sumAll(z!.map((v, i) => Math.log(1 + Math.exp(v)) - v * t![i]!)) / 4] },
    { shapes: [[3, 2], [3, 2]], domains: ["any", "unit"], build: (g, [z, t]) => g.bceWithLogits(z!, t!), shape: [], ref: ([z, t]) => [sumAll(z!.map((v, i) => Math.log(1 + Math.exp(v)) - v * t![i]!)) / 6] },
    { shapes: [[1, 1], [1, 1]], domains: ["any", "unit"], build: (g, [z, t]) => g.bceWithLogits(z!, t!), shape: [], ref: ([z, t]) => [Math.log(1 + Math.exp(z![0]!)) - z![0]! * t![0]!] },
  ],
  // batch norm: eval (the value checked) reads the running statistics, training (the gradients) the batch's
  batchNorm: [
    { shapes: [[4, 3], [3], [3]], build: (g, [x, w, b]) => g.batchNorm(x!, { weight: w!, bias: b!, runningMean: g.buffer("rm", [3]), runningVar: g.buffer("rv", [3]) }), shape: [4, 3], ref: bnEvalRef([4, 3], 1e-5) },
    { shapes: [[2, 3, 4]], build: (g, [x]) => g.batchNorm(x!, { runningMean: g.buffer("rm", [3]), runningVar: g.buffer("rv", [3]) }, { momentum: 0.5 }), shape: [2, 3, 4], ref: bnEvalRef([2, 3, 4], 1e-5) },
    { shapes: [[2, 2, 3, 2], [2]], build: (g, [x, w]) => g.batchNorm(x!, { weight: w!, runningMean: g.buffer("rm", [2]), runningVar: g.buffer("rv", [2]) }, { eps: 1e-3 }), shape: [2, 2, 3, 2], ref: bnEvalRef([2, 2, 3, 2], 1e-3) },
    { shapes: [[3, 1, 2, 1], [1], [1]], build: (g, [x, w, b]) => g.batchNorm(x!, { weight: w!, bias: b!, runningMean: g.buffer("rm", [1]), runningVar: g.buffer("rv", [1]) }), shape: [3, 1, 2, 1], ref: bnEvalRef([3, 1, 2, 1], 1e-5) },
  ],
  bnNormalize: [
    { shapes: [[5, 3]], build: (g, [x]) => g.bnNormalize(x!), shape: [5, 3], ref: ([x]) => bnRef(x!, [5, 3], 1e-5) },
    { shapes: [[2, 3, 4]], build: (g, [x]) => g.bnNormalize(x!, 0.1), shape: [2, 3, 4], ref: ([x]) => bnRef(x!, [2, 3, 4], 0.1) },
    { shapes: [[2, 2, 2, 3]], build: (g, [x]) => g.bnNormalize(x!), shape: [2, 2, 2, 3], ref: ([x]) => bnRef(x!, [2, 2, 2, 3], 1e-5) },
    { shapes: [[3, 4, 2]], build: (g, [x]) => g.bnNormalize(g.transpose(x!, [0, 2, 1])), shape: [3, 2, 4], ref: ([x]) => bnRef(Float64Array.from(coords([3, 2, 4]), ([i, j, k]) => x![at([3, 4, 2], [i!, k!, j!])]!), [3, 2, 4], 1e-5) },
  ],
  bnNormalizeGrad: [
    { shapes: [[5, 3], [5, 3]], build: (g, [x, dy]) => g.bnNormalizeGrad(x!, dy!), shape: [5, 3], ref: ([x, dy]) => bnGradRef(x!, dy!, [5, 3], 1e-5) },
    { shapes: [[2, 3, 4], [2, 3, 4]], build: (g, [x, dy]) => g.bnNormalizeGrad(x!, dy!, 0.1), shape: [2, 3, 4], ref: ([x, dy]) => bnGradRef(x!, dy!, [2, 3, 4], 0.1) },
    { shapes: [[2, 2, 2, 3], [2, 2, 2, 3]], build: (g, [x, dy]) => g.bnNormalizeGrad(x!, dy!), shape: [2, 2, 2, 3], ref: ([x, dy]) => bnGradRef(x!, dy!, [2, 2, 2, 3], 1e-5) },
  ],
  // dropout: random in training, so the table checks p = 0 (the identity in both modes); test/ops/dropout.test.ts checks p > 0
  dropout: [
    { shapes: [[3, 4]], build: (g, [x]) => g.dropout(x!, 0), shape: [3, 4], ref: ([x]) => x! },
    { shapes: [[5]], build: (g, [x]) => g.mul(g.dropout(x!, 0), 2), shape: [5], ref: ([x]) => x!.map((v) => 2 * v) },
    { shapes: [[2, 1, 3]], build: (g, [x]) => g.dropout(g.exp(x!), 0), shape: [2, 1, 3], ref: ([x]) => x!.map(Math.exp) },
  ],
  dropoutMask: [
    { shapes: [[3, 4]], build: (g, [x]) => g.mul(x!, g.dropoutMask([3, 4], 0)), shape: [3, 4], ref: ([x]) => x! },
    { shapes: [[5]], build: (g, [x]) => g.add(x!, g.dropoutMask([5], 0)), shape: [5], ref: ([x]) => x!.map((v) => v + 1) },
    { shapes: [[2, 3]], build: (g, [x]) => g.mul(x!, g.dropoutMask([1, 3], 0)), shape: [2, 3], ref: ([x]) => x! },
  ],
  softmaxCrossEntropy: [
    { shapes: [[3, 4], [3, 4]], domains: ["any", "unit"], build: (g, [z, t]) => g.softmaxCrossEntropy(z!, t!), shape: [], ref: ([z, t]) => [-sumAll(rowsSoftmax(z!, 3, 4, true).map((v, i) => v * t![i]!)) / 3] },
    { shapes: [[5], [5]], domains: ["any", "unit"], build: (g, [z, t]) => g.softmaxCrossEntropy(z!, t!), shape: [], ref: ([z, t]) => [-sumAll(rowsSoftmax(z!, 1, 5, true).map((v, i) => v * t![i]!))] },
    { shapes: [[2, 2, 3], [2, 2, 3]], domains: ["any", "unit"], build: (g, [z, t]) => g.softmaxCrossEntropy(z!, t!), shape: [], ref: ([z, t]) => [-sumAll(rowsSoftmax(z!, 4, 3, true).map((v, i) => v * t![i]!)) / 4] },
  ],
  // int32 ops: labels and ids are inputs drawn in range; the value flows into a param so the gradient is checked too
  argmax: [
    { shapes: [[3, 4]], build: (g, [x]) => g.argmax(x!), shape: [3], ref: ([x]) => argmaxRef(x!, [3, 4], 1) },
    { shapes: [[2, 3, 4]], build: (g, [x]) => g.argmax(x!, 1), shape: [2, 4], ref: ([x]) => argmaxRef(x!, [2, 3, 4], 1) },
    { shapes: [[5]], build: (g, [x]) => g.argmax(x!, 0), shape: [], ref: ([x]) => argmaxRef(x!, [5], 0) },
    // ties: every positive value becomes 0, the maximum, and the first of them wins
    { shapes: [[4, 6]], build: (g, [x]) => g.argmax(g.minimum(x!, 0), -1), shape: [4], ref: ([x]) => argmaxRef(x!.map((v) => Math.min(v, 0)), [4, 6], 1) },
  ],
  oneHot: [
    { shapes: [[4, 3]], ints: { y: label(3) }, build: (g, [p]) => g.mul(p!, g.oneHot(g.input("y", [4], { dtype: "int32" }), 3)), shape: [4, 3], ref: ([p], { y }) => p!.map((v, i) => (y![Math.floor(i / 3)] === i % 3 ? v : 0)) },
    { shapes: [[4]], ints: { y: label(4) }, build: (g, [p]) => g.mul(g.oneHot(g.input("y", [2, 3], { dtype: "int32" }), 4), p!), shape: [2, 3, 4], ref: ([p], { y }) => Float64Array.from({ length: 24 }, (_, i) => (y![Math.floor(i / 4)] === i % 4 ? p![i % 4]! : 0)) },
    // an ignore index that is a class (1) and one that is not (−1): both give rows of zeros
    { shapes: [[5, 3]], ints: { y: label(3) }, build: (g, [p]) => g.mul(p!, g.oneHot(g.input("y", [5], { dtype: "int32" }), 3, { ignoreIndex: 1 })), shape: [5, 3], ref: ([p], { y }) => p!.map((v, i) => (y![Math.floor(i / 3)] === i % 3 && i % 3 !== 1 ? v : 0)) },
    { shapes: [[6, 2]], ints: { y: label(2, -1, 0.4) }, build: (g, [p]) => g.mul(p!, g.oneHot(g.input("y", [6], { dtype: "int32" }), 2, { ignoreIndex: -1 })), shape: [6, 2], ref: ([p], { y }) => p!.map((v, i) => (y![Math.floor(i / 2)] === i % 2 ? v : 0)) },
  ],
  crossEntropy: [
    { shapes: [[4, 5]], ints: { y: label(5) }, build: (g, [z]) => g.crossEntropy(z!, g.input("y", [4], { dtype: "int32" })), shape: [], ref: ([z], { y }) => crossEntropyRef(z!, y!, 5, -100, 0) },
    { shapes: [[6, 3]], ints: { y: label(3, -100) }, build: (g, [z]) => g.crossEntropy(z!, g.input("y", [6], { dtype: "int32" }), { labelSmoothing: 0.2 }), shape: [], ref: ([z], { y }) => crossEntropyRef(z!, y!, 3, -100, 0.2) },
    { shapes: [[2, 3, 4]], ints: { y: label(4) }, build: (g, [z]) => g.crossEntropy(z!, g.input("y", [2, 3], { dtype: "int32" }), { ignoreIndex: 2, labelSmoothing: 0.1 }), shape: [], ref: ([z], { y }) => crossEntropyRef(z!, y!, 4, 2, 0.1) },
    { shapes: [[5]], ints: { y: label(5) }, build: (g, [z]) => g.crossEntropy(z!, g.input("y", [], { dtype: "int32" })), shape: [], ref: ([z], { y }) => crossEntropyRef(z!, y!, 5, -100, 0) },
  ],
  embedding: [
    { shapes: [[4, 3]], ints: { ids: label(4) }, build: (g, [t]) => g.embedding(g.input("ids", [6], { dtype: "int32" }), t!), shape: [6, 3], ref: ([t], { ids }) => gatherRef(t!, ids!, 3) },
    { shapes: [[2, 4]], ints: { ids: label(2) }, build: (g, [t]) => g.embedding(g.input("ids", [2, 3], { dtype: "int32" }), t!), shape: [2, 3, 4], ref: ([t], { ids }) => gatherRef(t!, ids!, 4) },
    { shapes: [[3, 2]], ints: { ids: label(3) }, build: (g, [t]) => g.embedding(g.input("ids", [], { dtype: "int32" }), t!), shape: [2], ref: ([t], { ids }) => gatherRef(t!, ids!, 2) },
    // a table read through a transpose: the gather follows the view's strides
    { shapes: [[3, 5]], ints: { ids: label(5) }, build: (g, [t]) => g.embedding(g.input("ids", [4], { dtype: "int32" }), g.transpose(t!)), shape: [4, 3], ref: ([t], { ids }) => gatherRef(Float64Array.from({ length: 15 }, (_, o) => t![(o % 3) * 5 + Math.floor(o / 3)]!), ids!, 3) },
  ],
  scatterAdd: [
    { shapes: [[5, 3]], ints: { ids: label(4) }, build: (g, [s]) => g.scatterAdd(s!, g.input("ids", [5], { dtype: "int32" }), 4), shape: [4, 3], ref: ([s], { ids }) => scatterRef(s!, ids!, 4, 3) },
    { shapes: [[2, 3, 2]], ints: { ids: label(2) }, build: (g, [s]) => g.scatterAdd(s!, g.input("ids", [2, 3], { dtype: "int32" }), 2), shape: [2, 2], ref: ([s], { ids }) => scatterRef(s!, ids!, 2, 2) },
    { shapes: [[3]], ints: { ids: label(2) }, build: (g, [s]) => g.scatterAdd(s!, g.input("ids", [], { dtype: "int32" }), 2), shape: [2, 3], ref: ([s], { ids }) => scatterRef(s!, ids!, 2, 3) },
  ],
  // convolution and pooling: plain loops from the definitions (test/support/convRef.ts)
  conv2d: [
    { shapes: [[2, 3, 5, 5], [4, 3, 3, 3], [4]], build: (g, [x, W, b]) => g.conv2d(x!, W!, b), shape: [2, 4, 3, 3], ref: ([x, W, b]) => conv2dRef(x!, [2, 3, 5, 5], W!, [4, 3, 3, 3], b, { stride: [1, 1], pad: [0, 0, 0, 0], dilation: [1, 1], groups: 1 }).y },
    { shapes: [[1, 4, 6, 5], [6, 2, 2, 3]], build: (g, [x, W]) => g.conv2d(x!, W!, undefined, { stride: [2, 1], padding: [1, 0], groups: 2 }), shape: [1, 6, 4, 3], ref: ([x, W]) => conv2dRef(x!, [1, 4, 6, 5], W!, [6, 2, 2, 3], undefined, { stride: [2, 1], pad: [1, 1, 0, 0], dilation: [1, 1], groups: 2 }).y },
    { shapes: [[1, 2, 5, 6], [3, 2, 2, 3], [3]], build: (g, [x, W, b]) => g.conv2d(x!, W!, b, { padding: "same", dilation: [2, 1] }), shape: [1, 3, 5, 6], ref: ([x, W, b]) => conv2dRef(x!, [1, 2, 5, 6], W!, [3, 2, 2, 3], b, { stride: [1, 1], pad: [1, 1, 1, 1], dilation: [2, 1], groups: 1 }).y },
    { shapes: [[2, 1, 4, 4], [2, 1, 3, 3]], build: (g, [x, W]) => g.conv2d(x!, W!, undefined, { stride: 2, padding: 1 }), shape: [2, 2, 2, 2], ref: ([x, W]) => conv2dRef(x!, [2, 1, 4, 4], W!, [2, 1, 3, 3], undefined, { stride: [2, 2], pad: [1, 1, 1, 1], dilation: [1, 1], groups: 1 }).y },
  ],
  conv1d: [
    { shapes: [[2, 3, 7], [4, 3, 3], [4]], build: (g, [x, W, b]) => g.conv1d(x!, W!, b), shape: [2, 4, 5], ref: ([x, W, b]) => conv2dRef(x!, [2, 3, 1, 7], W!, [4, 3, 1, 3], b, { stride: [1, 1], pad: [0, 0, 0, 0], dilation: [1, 1], groups: 1 }).y },
    { shapes: [[1, 4, 9], [2, 2, 2]], build: (g, [x, W]) => g.conv1d(x!, W!, undefined, { stride: 3, padding: 2, dilation: 2, groups: 2 }), shape: [1, 2, 4], ref: ([x, W]) => conv2dRef(x!, [1, 4, 1, 9], W!, [2, 2, 1, 2], undefined, { stride: [1, 3], pad: [0, 0, 2, 2], dilation: [1, 2], groups: 2 }).y },
    { shapes: [[1, 2, 6], [2, 2, 4]], build: (g, [x, W]) => g.conv1d(x!, W!, undefined, { padding: "same" }), shape: [1, 2, 6], ref: ([x, W]) => conv2dRef(x!, [1, 2, 1, 6], W!, [2, 2, 1, 4], undefined, { stride: [1, 1], pad: [0, 0, 1, 2], dilation: [1, 1], groups: 1 }).y },
  ],
  // the convolution primitive (no padding) and its two gradients: conv2dRef, and for the gradients its adjoint by definition,
  // ⟨conv(x, W), dZ⟩ = ⟨x, conv_transpose(dZ, W)⟩ = ⟨W, dZ ⋆ x⟩, one basis vector at a time (test/support/convRef.ts)
  conv: [
    { shapes: [[2, 3, 5, 6], [4, 3, 3, 2]], build: (g, [x, W]) => g.conv(x!, W!, { stride: [1, 1], dilation: [1, 1], groups: 1 }), shape: [2, 4, 3, 5], ref: ([x, W]) => convPrim(x!, [2, 3, 5, 6], W!, [4, 3, 3, 2], [1, 1], [1, 1], 1) },
    { shapes: [[1, 4, 7, 6], [6, 2, 2, 3]], build: (g, [x, W]) => g.conv(x!, W!, { stride: [2, 1], dilation: [1, 2], groups: 2 }), shape: [1, 6, 3, 2], ref: ([x, W]) => convPrim(x!, [1, 4, 7, 6], W!, [6, 2, 2, 3], [2, 1], [1, 2], 2) },
    { shapes: [[2, 2, 9], [3, 2, 3]], build: (g, [x, W]) => g.conv(x!, W!, { stride: [2], dilation: [2], groups: 1 }), shape: [2, 3, 3], ref: ([x, W]) => convPrim(x!, [2, 2, 1, 9], W!, [3, 2, 1, 3], [1, 2], [1, 2], 1) },
  ],
  convInputGrad: [
    { shapes: [[2, 4, 3, 5], [4, 3, 3, 2]], build: (g, [dz, W]) => g.convInputGrad(dz!, W!, { shape: [2, 3, 5, 6], stride: [1, 1], dilation: [1, 1], groups: 1 }), shape: [2, 3, 5, 6], ref: ([dz, W]) => convAdjoint("x", dz!, [2, 3, 5, 6], W!, [4, 3, 3, 2], [1, 1], [1, 1], 1) },
    { shapes: [[1, 6, 3, 2], [6, 2, 2, 3]], build: (g, [dz, W]) => g.convInputGrad(dz!, W!, { shape: [1, 4, 7, 6], stride: [2, 1], dilation: [1, 2], groups: 2 }), shape: [1, 4, 7, 6], ref: ([dz, W]) => convAdjoint("x", dz!, [1, 4, 7, 6], W!, [6, 2, 2, 3], [2, 1], [1, 2], 2) },
    { shapes: [[2, 3, 3], [3, 2, 3]], build: (g, [dz, W]) => g.convInputGrad(dz!, W!, { shape: [2, 2, 9], stride: [2], dilation: [2], groups: 1 }), shape: [2, 2, 9], ref: ([dz, W]) => convAdjoint("x", dz!, [2, 2, 1, 9], W!, [3, 2, 1, 3], [1, 2], [1, 2], 1) },
  ],
  convWeightGrad: [
    { shapes: [[2, 4, 3, 5], [2, 3, 5, 6]], build: (g, [dz, x]) => g.convWeightGrad(dz!, x!, { shape: [4, 3, 3, 2], stride: [1, 1], dilation: [1, 1], groups: 1 }), shape: [4, 3, 3, 2], ref: ([dz, x]) => convAdjoint("W", dz!, [2, 3, 5, 6], x!, [4, 3, 3, 2], [1, 1], [1, 1], 1) },
    { shapes: [[1, 6, 3, 2], [1, 4, 7, 6]], build: (g, [dz, x]) => g.convWeightGrad(dz!, x!, { shape: [6, 2, 2, 3], stride: [2, 1], dilation: [1, 2], groups: 2 }), shape: [6, 2, 2, 3], ref: ([dz, x]) => convAdjoint("W", dz!, [1, 4, 7, 6], x!, [6, 2, 2, 3], [2, 1], [1, 2], 2) },
    { shapes: [[2, 3, 3], [2, 2, 9]], build: (g, [dz, x]) => g.convWeightGrad(dz!, x!, { shape: [3, 2, 3], stride: [2], dilation: [2], groups: 1 }), shape: [3, 2, 3], ref: ([dz, x]) => convAdjoint("W", dz!, [2, 2, 1, 9], x!, [3, 2, 1, 3], [1, 2], [1, 2], 1) },
  ],
  maxPool2d: [
    { shapes: [[1, 2, 4, 4]], build: (g, [x]) => g.maxPool2d(x!, 2), shape: [1, 2, 2, 2], ref: ([x]) => pool2dRef("max", x!, [1, 2, 4, 4], [2, 2], [2, 2], [0, 0]).y },
    { shapes: [[2, 5, 5]], build: (g, [x]) => g.maxPool2d(x!, 3, { stride: 2, padding: 1 }), shape: [2, 3, 3], ref: ([x]) => pool2dRef("max", x!, [2, 5, 5], [3, 3], [2, 2], [1, 1]).y },
    { shapes: [[1, 1, 5, 7]], build: (g, [x]) => g.maxPool2d(x!, [2, 3], { stride: [1, 2], padding: [1, 0] }), shape: [1, 1, 6, 3], ref: ([x]) => pool2dRef("max", x!, [1, 1, 5, 7], [2, 3], [1, 2], [1, 0]).y },
    // stride 1 < kernel 3: overlapping windows share maxima, whose gradients add
    { shapes: [[2, 4, 5]], build: (g, [x]) => g.maxPool2d(x!, 3, { stride: 1 }), shape: [2, 2, 3], ref: ([x]) => pool2dRef("max", x!, [2, 4, 5], [3, 3], [1, 1], [0, 0]).y },
  ],
  avgPool2d: [
    { shapes: [[1, 2, 4, 4]], build: (g, [x]) => g.avgPool2d(x!, 2), shape: [1, 2, 2, 2], ref: ([x]) => pool2dRef("avg", x!, [1, 2, 4, 4], [2, 2], [2, 2], [0, 0]).y },
    { shapes: [[2, 5, 5]], build: (g, [x]) => g.avgPool2d(x!, 3, { stride: 2, padding: 1 }), shape: [2, 3, 3], ref: ([x]) => pool2dRef("avg", x!, [2, 5, 5], [3, 3], [2, 2], [1, 1]).y },
    { shapes: [[1, 1, 5, 7]], build: (g, [x]) => g.avgPool2d(x!, [2, 3], { stride: [1, 2], padding: [1, 1], countIncludePad: false }), shape: [1, 1, 6, 4], ref: ([x]) => pool2dRef("avg", x!, [1, 1, 5, 7], [2, 3], [1, 2], [1, 1], false).y },
  ],
  // pooling's own kernels: training's max pool (the first maximum's index, the gather through it, its
  // scatter-add adjoint) and average pooling's adjoint; g.minimum(x, 0) makes constant regions (ties)
  maxPool2dIndex: [
    { shapes: [[1, 2, 4, 4]], build: (g, [x]) => g.maxPool2dIndex(x!, pw([2, 2], [2, 2], [0, 0])), shape: [1, 2, 2, 2], ref: ([x]) => poolArgmaxRef(x!, [1, 2, 4, 4], [2, 2], [2, 2], [0, 0]) },
    { shapes: [[2, 5, 5]], build: (g, [x]) => g.maxPool2dIndex(g.minimum(x!, 0), pw([3, 3], [2, 2], [1, 1])), shape: [2, 3, 3], ref: ([x]) => poolArgmaxRef(x!.map((v) => Math.min(v, 0)), [2, 5, 5], [3, 3], [2, 2], [1, 1]) },
    { shapes: [[1, 1, 5, 7]], build: (g, [x]) => g.maxPool2dIndex(g.minimum(x!, 0), pw([2, 3], [1, 2], [1, 0])), shape: [1, 1, 6, 3], ref: ([x]) => poolArgmaxRef(x!.map((v) => Math.min(v, 0)), [1, 1, 5, 7], [2, 3], [1, 2], [1, 0]) },
    { shapes: [[1, 2, 4, 5]], build: (g, [x]) => g.maxPool2dIndex(g.transpose(x!, [0, 1, 3, 2]), pw([2, 2], [1, 1], [1, 1])), shape: [1, 2, 6, 5], ref: ([x]) => poolArgmaxRef(swapLast(x!, [1, 2, 4, 5]), [1, 2, 5, 4], [2, 2], [1, 1], [1, 1]) },
  ],
  maxPool2dGather: [
    { shapes: [[1, 2, 4, 4]], ints: { argmax: label(16) }, build: (g, [x]) => g.maxPool2dGather(x!, g.input("argmax", [1, 2, 2, 2], { dtype: "int32" })), shape: [1, 2, 2, 2], ref: ([x], { argmax }) => planeGatherRef(x!, argmax!, 16, 4) },
    { shapes: [[2, 5, 5]], ints: { argmax: label(25) }, build: (g, [x]) => g.maxPool2dGather(x!, g.input("argmax", [2, 3, 3], { dtype: "int32" })), shape: [2, 3, 3], ref: ([x], { argmax }) => planeGatherRef(x!, argmax!, 25, 9) },
    { shapes: [[1, 2, 3, 4]], ints: { argmax: label(12) }, build: (g, [x]) => g.maxPool2dGather(g.transpose(x!, [0, 1, 3, 2]), g.input("argmax", [1, 2, 2, 2], { dtype: "int32" })), shape: [1, 2, 2, 2], ref: ([x], { argmax }) => planeGatherRef(swapLast(x!, [1, 2, 3, 4]), argmax!, 12, 4) },
  ],
  maxPool2dGrad: [
    { shapes: [[1, 2, 2, 2]], ints: { argmax: label(16) }, build: (g, [dy]) => g.maxPool2dGrad(dy!, g.input("argmax", [1, 2, 2, 2], { dtype: "int32" }), { shape: [1, 2, 4, 4] }), shape: [1, 2, 4, 4], ref: ([dy], { argmax }) => planeScatterRef(dy!, argmax!, 16, 4, 32) },
    // 9 positions per plane scattered into 4 cells: repeated positions must add
    { shapes: [[2, 3, 3]], ints: { argmax: label(4) }, build: (g, [dy]) => g.maxPool2dGrad(dy!, g.input("argmax", [2, 3, 3], { dtype: "int32" }), { shape: [2, 2, 2] }), shape: [2, 2, 2], ref: ([dy], { argmax }) => planeScatterRef(dy!, argmax!, 4, 9, 8) },
    { shapes: [[1, 1, 3, 2]], ints: { argmax: label(20) }, build: (g, [dy]) => g.maxPool2dGrad(g.transpose(dy!, [0, 1, 3, 2]), g.input("argmax", [1, 1, 2, 3], { dtype: "int32" }), { shape: [1, 1, 4, 5] }), shape: [1, 1, 4, 5], ref: ([dy], { argmax }) => planeScatterRef(swapLast(dy!, [1, 1, 3, 2]), argmax!, 20, 6, 20) },
  ],
  avgPool2dGrad: [
    { shapes: [[1, 2, 2, 2]], build: (g, [dy]) => g.avgPool2dGrad(dy!, { ...pw([2, 2], [2, 2], [0, 0]), countIncludePad: true, shape: [1, 2, 4, 4] }), shape: [1, 2, 4, 4], ref: ([dy]) => avgPoolGradRef(dy!, [1, 2, 4, 4], [2, 2], [2, 2], [0, 0]) },
    { shapes: [[2, 3, 3]], build: (g, [dy]) => g.avgPool2dGrad(dy!, { ...pw([3, 3], [2, 2], [1, 1]), countIncludePad: true, shape: [2, 5, 5] }), shape: [2, 5, 5], ref: ([dy]) => avgPoolGradRef(dy!, [2, 5, 5], [3, 3], [2, 2], [1, 1]) },
    { shapes: [[1, 1, 6, 4]], build: (g, [dy]) => g.avgPool2dGrad(dy!, { ...pw([2, 3], [1, 2], [1, 1]), countIncludePad: false, shape: [1, 1, 5, 7] }), shape: [1, 1, 5, 7], ref: ([dy]) => avgPoolGradRef(dy!, [1, 1, 5, 7], [2, 3], [1, 2], [1, 1], false) },
  ],
  // sequence ops (issue 13)
  ...seqCases,
  // g.customGrad: the value is fn's, the derivative the rule's (here correct rules, so finite differences agree)
  customVjp: [
    { shapes: [[7]], build: (g, [x]) => g.customGrad((g, a) => g.mul(g.mul(a, a), a), (g, [a], _o, dy) => [g.mul(dy, g.mul(g.square(a), 3))])(x!), shape: [7], ref: ([x]) => x!.map((v) => v ** 3) },
    { shapes: [[3, 4], [3, 4]], build: (g, [a, b]) => g.customGrad((g, p, q) => g.mul(p, q), (g, [p, q], _o, dy) => [g.mul(dy, q), g.mul(dy, p)])(a!, b!), shape: [3, 4], ref: ([a, b]) => a!.map((v, i) => v * b![i]!) },
    { shapes: [[2, 3]], build: (g, [x]) => g.customGrad((g, a) => g.tanh(a), (g, _in, out, dy) => [g.mul(dy, g.sub(1, g.square(out)))])(x!), shape: [2, 3], ref: ([x]) => x!.map(Math.tanh) },
  ],
};
