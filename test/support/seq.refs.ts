/**
 * Plain float64 references of the sequence ops (issue 13), written from the published equations
 * (PyTorch's documentation of F.gelu, F.layer_norm, nn.LSTMCell, nn.GRUCell, and attention as
 * softmax(q·kᵀ·scale + mask)·v with an explicit −∞ mask), independently of src/ops.
 */
const count = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** erf by the series 2/√π·e^(−x²)·Σ 2ⁿx^(2n+1)/(1·3·…·(2n+1)): positive terms, no cancellation. */
export function erfRef(x: number): number {
  if (Math.abs(x) > 6) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; n < 500 && Math.abs(term) > 1e-18 * Math.abs(sum); n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}
export const geluRef = (x: number) => 0.5 * x * (1 + erfRef(x / Math.SQRT2));
export const geluTanhRef = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
export const sig = (v: number) => 1 / (1 + Math.exp(-v));

/** x̂·w + b over rows of n (w, b optional). */
export function layerNormRef(x: ArrayLike<number>, n: number, eps: number, w?: ArrayLike<number>, b?: ArrayLike<number>): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
    const row = Array.from({ length: n }, (_, k) => x[r * n + k]!);
    const mu = row.reduce((a, v) => a + v, 0) / n;
    const v = row.reduce((a, t) => a + (t - mu) ** 2, 0) / n;
    row.forEach((t, k) => (out[r * n + k] = ((t - mu) / Math.sqrt(v + eps)) * (w ? w[k]! : 1) + (b ? b[k]! : 0)));
  }
  return out;
}

/** Attention probabilities over batch t, query i, key j: softmax of q·kᵀ·scale with −∞ where j > i (causal). */
export function attentionRef(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number> | undefined, B: number, Lq: number, Lk: number, d: number, dv: number, causal: boolean, scale = 1 / Math.sqrt(d)) {
  const P = new Float64Array(B * Lq * Lk);
  const O = new Float64Array(B * Lq * dv);
  for (let t = 0; t < B; t++)
    for (let i = 0; i < Lq; i++) {
      const s = Array.from({ length: Lk }, (_, j) => {
        let dot = 0;
        for (let p = 0; p < d; p++) dot += q[(t * Lq + i) * d + p]! * k[(t * Lk + j) * d + p]!;
        return dot * scale + (causal && j > i ? -Infinity : 0);
      });
      const m = Math.max(...s);
      const e = s.map((x) => Math.exp(x - m));
      const z = e.reduce((a, x) => a + x, 0);
      e.forEach((x, j) => (P[(t * Lq + i) * Lk + j] = x / z));
      if (v) for (let c = 0; c < dv; c++) O[(t * Lq + i) * dv + c] = e.reduce((a, x, j) => a + (x / z) * v[(t * Lk + j) * dv + c]!, 0);
    }
  return { P, O };
}

/** x·Wᵀ + b for x [N, I], W [G, I], b [G] (optional): [N, G]. */
function affineRef(x: ArrayLike<number>, W: ArrayLike<number>, b: ArrayLike<number> | undefined, N: number, I: number, G: number): number[][] {
  return Array.from({ length: N }, (_, n) => Array.from({ length: G }, (_, gi) => {
    let s = b ? b[gi]! : 0;
    for (let i = 0; i < I; i++) s += x[n * I + i]! * W[gi * I + i]!;
    return s;
  }));
}

/** nn.LSTMCell: gates i, f, g, o; returns h' and c' ([N, H] each, row-major). */
export function lstmRef(x: ArrayLike<number>, h: ArrayLike<number>, c: ArrayLike<number>, Wih: ArrayLike<number>, Whh: ArrayLike<number>, bih: ArrayLike<number> | undefined, bhh: ArrayLike<number> | undefined, N: number, I: number, H: number) {
  const gx = affineRef(x, Wih, bih, N, I, 4 * H);
  const gh = affineRef(h, Whh, bhh, N, H, 4 * H);
  const h2 = new Float64Array(N * H);
  const c2 = new Float64Array(N * H);
  for (let n = 0; n < N; n++)
    for (let j = 0; j < H; j++) {
      const pre = (k: number) => gx[n]![k * H + j]! + gh[n]![k * H + j]!;
      const [i, f, g, o] = [sig(pre(0)), sig(pre(1)), Math.tanh(pre(2)), sig(pre(3))];
      c2[n * H + j] = f * c[n * H + j]! + i * g;
      h2[n * H + j] = o * Math.tanh(c2[n * H + j]!);
    }
  return { h: h2, c: c2 };
}

/** nn.GRUCell: gates r, z, n with b_hn inside r ⊙ (…); returns h' [N, H]. */
export function gruRef(x: ArrayLike<number>, h: ArrayLike<number>, Wih: ArrayLike<number>, Whh: ArrayLike<number>, bih: ArrayLike<number> | undefined, bhh: ArrayLike<number> | undefined, N: number, I: number, H: number) {
  const gx = affineRef(x, Wih, bih, N, I, 3 * H);
  const gh = affineRef(h, Whh, bhh, N, H, 3 * H);
  const out = new Float64Array(N * H);
  for (let n = 0; n < N; n++)
    for (let j = 0; j < H; j++) {
      const r = sig(gx[n]![j]! + gh[n]![j]!);
      const z = sig(gx[n]![H + j]! + gh[n]![H + j]!);
      const nn = Math.tanh(gx[n]![2 * H + j]! + r * gh[n]![2 * H + j]!);
      out[n * H + j] = (1 - z) * nn + z * h[n * H + j]!;
    }
  return out;
}

/** Join row-major blocks along `axis`: shapes differ only there. */
export function concatRef(xs: ArrayLike<number>[], shapes: number[][], axis: number): Float64Array {
  const outer = count(shapes[0]!.slice(0, axis));
  const res: number[] = [];
  for (let o = 0; o < outer; o++)
    xs.forEach((x, k) => {
      const n = count(shapes[k]!.slice(axis));
      for (let j = 0; j < n; j++) res.push(x[o * n + j]!);
    });
  return Float64Array.from(res);
}

/** dx of layer norm (no weight) by its definition: Σ_j dy_j ∂x̂_j/∂x_i with ∂x̂_j/∂x_i = r(δ_ij − 1/n − x̂_i·x̂_j/n). */
export function layerNormGradRef(x: ArrayLike<number>, dy: ArrayLike<number>, n: number, eps: number): Float64Array {
  const xh = layerNormRef(x, n, eps);
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
    const row = Array.from({ length: n }, (_, k) => x[r * n + k]!);
    const mu = row.reduce((a, v) => a + v, 0) / n;
    const rs = 1 / Math.sqrt(row.reduce((a, t) => a + (t - mu) ** 2, 0) / n + eps);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += dy[r * n + j]! * rs * ((i === j ? 1 : 0) - 1 / n - (xh[r * n + i]! * xh[r * n + j]!) / n);
      out[r * n + i] = s;
    }
  }
  return out;
}
