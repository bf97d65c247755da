/**
 * The geometry the three convolution primitives share (`conv`, `convInputGrad`, `convWeightGrad`):
 * x [N, C, ...S] (already padded), W [O, C/G, ...K], Z [N, O, ...OS] with OS = ⌊(S − d·(K − 1) − 1)/s⌋ + 1,
 * for one or two spatial axes. Everything is read as two-dimensional (a 1-D convolution is a 2-D
 * one with H = KH = OH = 1), so the reference loops, the JavaScript kernels and the WebAssembly
 * kernels each have one form. Padding is not here: `convolve` pads x first (a `pad` node, whose
 * gradient is a slice), so these ops are "valid" convolutions.
 */
import { FlatgradError, fmtShape, type Shape } from "../ir/shape.js";

/** The attributes of the three ops: one stride and dilation per spatial axis, and the group count. */
export interface ConvAttrs {
  stride: number[];
  dilation: number[];
  groups: number;
  [key: string]: unknown;
}
/** A gradient op's attributes also carry the shape of what it computes (x's for dX, W's for dW). */
export type ConvGradAttrs = ConvAttrs & { shape: number[] };

/** The sizes of one convolution, two-dimensional. */
export interface ConvGeom {
  N: number;
  C: number;
  H: number;
  W: number;
  O: number;
  G: number;
  /** Input and output channels per group. */
  Cg: number;
  Og: number;
  KH: number;
  KW: number;
  OH: number;
  OW: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  /** The spatial axes (1 or 2): the real ranks are k + 2. */
  k: number;
}

/** The geometry from x's and W's shapes, or a FlatgradError (FG180) naming `op` and the shapes. */
export function convGeom(op: string, x: Shape, w: Shape, { stride, dilation, groups }: ConvAttrs): ConvGeom {
  const k = x.length - 2;
  const bad = (why: string) => new FlatgradError(`${op}: x is ${fmtShape(x)}, W is ${fmtShape(w)}: ${why}`, undefined, "FG180");
  if ((k !== 1 && k !== 2) || w.length !== x.length || stride.length !== k || dilation.length !== k) throw bad(`a convolution over 1 or 2 spatial axes needs x [N, C, ...] and W [O, C/groups, ...] of the same rank`);
  const two = (s: Shape, lead: number): [number, number] => (k === 1 ? [1, s[lead]!] : [s[lead]!, s[lead + 1]!]);
  const [N, C] = x as [number, number];
  const [O, Cg] = w as [number, number];
  const [H, W] = two(x, 2);
  const [KH, KW] = two(w, 2);
  const [sh, sw] = k === 1 ? [1, stride[0]!] : (stride as [number, number]);
  const [dh, dw] = k === 1 ? [1, dilation[0]!] : (dilation as [number, number]);
  if (!(groups >= 1) || C % groups || O % groups || Cg * groups !== C) throw bad(`${groups} groups of ${Cg} channels do not make the ${C} of x, or do not divide the ${O} of W`);
  const out = (n: number, kk: number, s: number, d: number) => Math.floor((n - d * (kk - 1) - 1) / s) + 1;
  const [OH, OW] = [out(H, KH, sh, dh), out(W, KW, sw, dw)];
  if (OH < 1 || OW < 1) throw bad("the window does not fit in x");
  return { N, C, H, W, O, G: groups, Cg, Og: O / groups, KH, KW, OH, OW, sh, sw, dh, dw, k };
}

/** Z's shape: [N, O, OH, OW] (or [N, O, OW] for one spatial axis). */
export const convOutShape = (g: ConvGeom): number[] => (g.k === 1 ? [g.N, g.O, g.OW] : [g.N, g.O, g.OH, g.OW]);

/**
 * Every product of the convolution, in the order the reference loops sum them: for each
 * (n, o, oh, ow) and each (c, kh, kw) of o's group, `visit(z, x, w)` with the flat indices of
 * Z[n, o, oh, ow], x[n, g·Cg + c, oh·sh + kh·dh, ow·sw + kw·dw] and W[o, c, kh, kw].
 */
export function forEachProduct(g: ConvGeom, visit: (z: number, x: number, w: number) => void): void {
  const { N, C, H, W, O, Cg, Og, KH, KW, OH, OW, sh, sw, dh, dw } = g;
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++) {
      const c0 = Math.floor(o / Og) * Cg;
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          const z = ((n * O + o) * OH + oh) * OW + ow;
          for (let c = 0; c < Cg; c++)
            for (let kh = 0; kh < KH; kh++)
              for (let kw = 0; kw < KW; kw++)
                visit(z, ((n * C + c0 + c) * H + oh * sh + kh * dh) * W + ow * sw + kw * dw, ((o * Cg + c) * KH + kh) * KW + kw);
        }
    }
}

/** PyTorch's keyword arguments for the attributes (`stride=(1, 1), dilation=(1, 1), groups=1`). */
export const torchConvArgs = ({ stride, dilation, groups }: ConvAttrs): string => `stride=(${stride.join(", ")},), dilation=(${dilation.join(", ")},), groups=${groups}`;

/** `3×5×5`: the spatial kernel, for math comments. */
export const kernelText = (w: Shape): string => w.slice(2).join("×");
