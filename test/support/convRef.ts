/**
 * Plain float64 loops for convolution and pooling, written from the definitions (PyTorch's
 * F.conv2d, F.max_pool2d, F.avg_pool2d), with no code shared with the compiler: the oracles of the
 * op table and of the conv sweep. 1-D is 2-D with H = 1.
 */
export interface ConvSpec {
  stride: [number, number];
  /** [top, bottom, left, right] */
  pad: [number, number, number, number];
  dilation: [number, number];
  groups: number;
}

/** y[n, o, i, j] = b[o] + Σ_{c in o's group, u, v} x[n, c, i·sh − pt + u·dh, j·sw − pl + v·dw] · W[o, c − g·C/G, u, v] */
export function conv2dRef(x: ArrayLike<number>, xs: number[], w: ArrayLike<number>, ws: number[], b: ArrayLike<number> | undefined, s: ConvSpec) {
  const [N, C, H, Wd] = xs as [number, number, number, number];
  const [O, Cg, KH, KW] = ws as [number, number, number, number];
  const [sh, sw] = s.stride;
  const [pt, pb, pl, pr] = s.pad;
  const [dh, dw] = s.dilation;
  const OH = Math.floor((H + pt + pb - dh * (KH - 1) - 1) / sh) + 1;
  const OW = Math.floor((Wd + pl + pr - dw * (KW - 1) - 1) / sw) + 1;
  const Og = O / s.groups;
  const y = new Float64Array(N * O * OH * OW);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++)
      for (let i = 0; i < OH; i++)
        for (let j = 0; j < OW; j++) {
          let acc = b ? b[o]! : 0;
          const g = Math.floor(o / Og);
          for (let c = 0; c < Cg; c++)
            for (let u = 0; u < KH; u++)
              for (let v = 0; v < KW; v++) {
                const yy = i * sh - pt + u * dh;
                const xx = j * sw - pl + v * dw;
                if (yy < 0 || yy >= H || xx < 0 || xx >= Wd) continue;
                acc += x[((n * C + g * Cg + c) * H + yy) * Wd + xx]! * w[((o * Cg + c) * KH + u) * KW + v]!;
              }
          y[((n * O + o) * OH + i) * OW + j] = acc;
        }
  return { y, shape: [N, O, OH, OW] };
}

/** Max or average pooling of the last two axes; `lead` is the product of the others. Max takes the first maximum; padding cells are −∞ (max) or 0 (avg). */
export function pool2dRef(kind: "max" | "avg", x: ArrayLike<number>, shape: number[], k: [number, number], stride: [number, number], pad: [number, number], countIncludePad = true) {
  const [H, W] = shape.slice(-2) as [number, number];
  const lead = shape.slice(0, -2).reduce((a, d) => a * d, 1);
  const OH = Math.floor((H + 2 * pad[0] - k[0]) / stride[0]) + 1;
  const OW = Math.floor((W + 2 * pad[1] - k[1]) / stride[1]) + 1;
  const y = new Float64Array(lead * OH * OW);
  for (let l = 0; l < lead; l++)
    for (let i = 0; i < OH; i++)
      for (let j = 0; j < OW; j++) {
        let m = -Infinity;
        let s = 0;
        let real = 0;
        for (let u = 0; u < k[0]; u++)
          for (let v = 0; v < k[1]; v++) {
            const yy = i * stride[0] - pad[0] + u;
            const xx = j * stride[1] - pad[1] + v;
            if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
            const val = x[(l * H + yy) * W + xx]!;
            if (val > m) m = val;
            s += val;
            real++;
          }
        y[(l * OH + i) * OW + j] = kind === "max" ? m : s / (countIncludePad ? k[0] * k[1] : real);
      }
  return { y, shape: [...shape.slice(0, -2), OH, OW] };
}

/** The unpadded convolution (the `conv` primitive) of x [N, C, H, W] with W [O, C/G, KH, KW] (1-D as H = 1). */
export const convPrim = (x: ArrayLike<number>, xs: number[], w: ArrayLike<number>, ws: number[], stride: [number, number], dilation: [number, number], groups: number) =>
  conv2dRef(x, xs, w, ws, undefined, { stride, pad: [0, 0, 0, 0], dilation, groups }).y;

/**
 * The convolution's adjoints by their definition, one basis vector at a time: for "x",
 * conv_transpose(dZ, W)[j] = ⟨dZ, conv(e_j, W)⟩; for "W", (dZ ⋆ x)[j] = ⟨dZ, conv(x, e_j)⟩.
 * `other` is W (for "x") or x (for "W"); xs and ws are the 4-D shapes of x and W.
 */
export function convAdjoint(of: "x" | "W", dz: ArrayLike<number>, xs: number[], other: ArrayLike<number>, ws: number[], stride: [number, number], dilation: [number, number], groups: number): Float64Array {
  const n = (of === "x" ? xs : ws).reduce((a, b) => a * b, 1);
  const res = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const e = new Float64Array(n);
    e[j] = 1;
    const z = of === "x" ? convPrim(e, xs, other, ws, stride, dilation, groups) : convPrim(other, xs, e, ws, stride, dilation, groups);
    res[j] = z.reduce((s, v, i) => s + v * dz[i]!, 0);
  }
  return res;
}
