/**
 * The windows of a 2-D pooling over the last two axes of x [..., H, W], shared by maxPool2d,
 * avgPool2d and their gradients: output position (oh, ow) reads the rows [oh·sh − ph, oh·sh − ph + kh)
 * and the columns [ow·sw − pw, ow·sw − pw + kw), clipped to the input. Padding is these loop bounds,
 * never a padded copy; padding is at most half the kernel (poolArgs), so every window holds a real cell.
 */
import { size, type Shape } from "../ir/shape.js";
import { affine, type KernelWriter, type View } from "../lower/view.js";
import { poolArgs } from "./convArgs.js";
import type { Node, OnnxAttr, OnnxWriter } from "./types.js";

/** kernel [kh, kw], stride [sh, sw], padding [ph, pw] (the same before and after, as PyTorch pads). */
export interface PoolAttrs {
  kernel: number[];
  stride: number[];
  padding: number[];
  [key: string]: unknown;
}

/** The checked window of a pooling call (poolArgs: FG180, FG182–FG185 at the call's line), one number per spatial axis. */
export function poolAttrs(op: string, x: Node, kernel: unknown, options?: { stride?: number | number[]; padding?: number | number[] }): PoolAttrs {
  const { kernel: k, stride, pads } = poolArgs(op, x.shape, kernel, options);
  return { kernel: k, stride, padding: pads.map(([p]) => p) };
}

/** x [..., H, W] → [..., OH, OW], OH = ⌊(H + 2·ph − kh)/sh⌋ + 1. */
export const pooledShape = (s: Shape, { kernel, stride, padding }: PoolAttrs): number[] => [
  ...s.slice(0, -2),
  ...[0, 1].map((ax) => Math.floor((s[s.length - 2 + ax]! + 2 * padding[ax]! - kernel[ax]!) / stride[ax]!) + 1),
];

/** The clipped window [start, end) of output position o along spatial axis ax of extent n. */
export function span(o: number, ax: number, { kernel, stride, padding }: PoolAttrs, n: number): [number, number] {
  const start = o * stride[ax]! - padding[ax]!;
  return [Math.max(start, 0), Math.min(start + kernel[ax]!, n)];
}

/** "2×2, stride 2×2, padding 1×1": a pooling's window, for math comments. */
export const fmtPool = ({ kernel, stride, padding }: PoolAttrs): string =>
  `${kernel.join("×")}${stride.some((v, i) => v !== kernel[i]) ? `, stride ${stride.join("×")}` : ""}${padding.some((v) => v) ? `, padding ${padding.join("×")}` : ""}`;

/** The plain loops of the interpreter: every window of x [..., H, W], in row-major output order o, with its clipped bounds. */
export function eachWindow(s: Shape, a: PoolAttrs, f: (plane: number, o: number, h0: number, h1: number, w0: number, w1: number) => void): void {
  const [H, W] = s.slice(-2) as [number, number];
  const [OH, OW] = pooledShape(s, a).slice(-2) as [number, number];
  const planes = size(s) / (H * W);
  for (let p = 0, o = 0; p < planes; p++)
    for (let oh = 0; oh < OH; oh++) {
      const [h0, h1] = span(oh, 0, a, H);
      for (let ow = 0; ow < OW; ow++, o++) {
        const [w0, w1] = span(ow, 1, a, W);
        f(p, o, h0, h1, w0, w1);
      }
    }
}

/** Windows of at most this many cells, without padding, are written out cell by cell (no inner loops of 2 or 3 steps). */
const UNROLL = 16;

/** The loop variables of one window in generated code: the lead axes', the output position's, its clipped bounds, its cells. */
export interface WindowVars {
  lead: string[];
  oh: string;
  ow: string;
  h0: string;
  w0: string;
  /** The clipped ends (exclusive), declared only where the cells are loops (not written out). */
  h1: string;
  w1: string;
  /** The window's first cell, x[h0, w0], read. */
  first: string;
  /**
   * Every cell of the window, row-major: `body(ref, pos)` gets the element (`x[…]`, add `!` to read
   * it) and `pos`, its position h·W + w in the plane (`skipFirst`: all but the first cell, which the
   * caller started from).
   */
  cells(body: (ref: string, pos: string) => void, skipFirst?: boolean): void;
}

/**
 * The loop nest over every window of `x` [..., H, W] pooled to `ys` [..., OH, OW]: lead axes, then
 * oh with its row bounds, then ow with its column bounds; `body` writes one window. With padding,
 * Math.max/Math.min clip the bounds to the input and two loops walk the cells. Without, the window
 * starts at (oh·sh, ow·sw), and a small one is written out cell by cell from its first cell's index
 * c: x[c], x[c + 1], x[c + W], … (no inner loops of two or three steps).
 */
export function emitWindows(w: KernelWriter, x: View, ys: Shape, a: PoolAttrs, body: (v: WindowVars) => void): void {
  const xs = x.shape;
  const r = xs.length;
  const W = xs[r - 1]!;
  const [kh, kw] = a.kernel as [number, number];
  // the readable build (--readable) keeps the plain loops
  const unrolled = !w.readable && a.padding.every((p) => p === 0) && kh * kw <= UNROLL;
  const lead = xs.slice(0, -2).map((_, i) => w.local(`i${i}`));
  const [oh, ow, h0, h1, w0, w1, c] = ["oh", "ow", "h0", "h1", "w0", "w1", "c"].map((n) => w.local(n)) as [string, string, string, string, string, string, string];
  const bounds = (o: string, lo: string, hi: string, ax: number) => {
    const [k, s, p, n] = [a.kernel[ax]!, a.stride[ax]!, a.padding[ax]!, xs[r - 2 + ax]!];
    const start = s === 1 ? o : `${o} * ${s}`;
    if (p === 0) w.line(`const ${lo} = ${start};`);
    else w.line(`const ${lo} = Math.max(${start} - ${p}, 0);`);
    if (!unrolled) w.line(`const ${hi} = ${p === 0 ? `${lo} + ${k}` : `Math.min(${start} + ${k - p}, ${n})`};`);
  };
  const at = (h: string, col: string) => `${x.base}[${affine(x.offset, [...lead, h, col], x.strides)}]`;
  const cells: WindowVars["cells"] = (f, skipFirst = false) => {
    if (unrolled) {
      for (let dh = 0; dh < kh; dh++)
        for (let dw = 0; dw < kw; dw++) {
          if (skipFirst && dh === 0 && dw === 0) continue;
          const off = dh * x.strides[r - 2]! + dw * x.strides[r - 1]!;
          const p = dh * W + dw;
          f(`${x.base}[${off ? `${c} + ${off}` : c}]`, `${h0} * ${W} + ${w0}${p ? ` + ${p}` : ""}`);
        }
      return;
    }
    const [h, col] = [w.local("h"), w.local("w")];
    w.block(`for (let ${h} = ${h0}; ${h} < ${h1}; ${h}++)`, () => w.block(`for (let ${col} = ${w0}; ${col} < ${w1}; ${col}++)`, () => f(at(h, col), `${h} * ${W} + ${col}`)));
  };
  const nest = (d: number): void => {
    if (d < lead.length) return w.loop(lead[d]!, xs[d]!, () => nest(d + 1));
    w.loop(oh, ys[r - 2]!, () => {
      bounds(oh, h0, h1, 0);
      w.loop(ow, ys[r - 1]!, () => {
        bounds(ow, w0, w1, 1);
        if (unrolled) w.line(`const ${c} = ${affine(x.offset, [...lead, h0, w0], x.strides)};`);
        body({ lead, oh, ow, h0, w0, h1, w1, first: unrolled ? `${x.base}[${c}]!` : `${at(h0, w0)}!`, cells });
      });
    });
  };
  nest(0);
}

/** The index of `v`'s element at lead indices `lead` and cell `plane` (h·W + w, an expression) of its last two axes. */
export function planeIndex(v: View, lead: readonly string[], plane: string): string {
  const r = v.shape.length;
  const W = v.shape[r - 1]!;
  const base = affine(v.offset, lead, v.strides.slice(0, r - 2));
  // row-major in its last two axes (the usual case): the plane index is the offset
  if (v.strides[r - 1] === 1 && v.strides[r - 2] === W) return base === "0" ? plane : `${base} + ${plane}`;
  return `${base} + ((${plane} / ${W}) | 0) * ${v.strides[r - 2]} + (${plane} % ${W}) * ${v.strides[r - 1]}`;
}

/** `(kh, kw), (sh, sw), (ph, pw)`: a pooling's window as F.max_pool2d / F.avg_pool2d take it. */
export const torchPool = ({ kernel, stride, padding }: PoolAttrs): string => [kernel, stride, padding].map(([h, w]) => `(${h}, ${w})`).join(", ");

/**
 * Average pooling in ONNX without AveragePool, which onnxruntime implements for FLOAT only: the
 * windows of the zero-padded x gathered by their flat offsets (as `window` exports), summed, and
 * scaled by 1/count per output position.
 */
export function onnxWindowMean(o: OnnxWriter, x: string, s: Shape, a: PoolAttrs, inv: (oh: number, ow: number) => number): string {
  const lead = s.slice(0, -2);
  const [Hp, Wp] = [0, 1].map((ax) => s[s.length - 2 + ax]! + 2 * a.padding[ax]!) as [number, number];
  const [OH, OW] = pooledShape(s, a).slice(-2) as [number, number];
  const [kh, kw] = a.kernel as [number, number];
  const padded = a.padding.some((p) => p) ? o.node("Pad", [x, o.ints([...lead.map(() => 0), ...a.padding, ...lead.map(() => 0), ...a.padding]), o.scalar(0)], { mode: { s: "constant" } }) : x;
  const offsets: number[] = [];
  for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) for (let u = 0; u < kh; u++) for (let v = 0; v < kw; v++) offsets.push((oh * a.stride[0]! + u) * Wp + ow * a.stride[1]! + v);
  const windows = o.node("Gather", [o.node("Reshape", [padded, o.ints([...lead, Hp * Wp])]), o.ints(offsets, [OH, OW, kh, kw])], { axis: { i: lead.length } });
  const sums = o.node("ReduceSum", [windows, o.ints([lead.length + 2, lead.length + 3])], { keepdims: { i: 0 } });
  const scale = Array.from({ length: OH * OW }, (_, i) => inv(Math.floor(i / OW), i % OW));
  return o.node("Mul", [sums, o.floats(scale, [OH, OW])]);
}

/** An ONNX MaxPool / AveragePool node (which take [N, C, H, W]: a [C, H, W] x gets an axis 0 and loses it after). */
export function onnxPool(o: OnnxWriter, op: string, x: string, { kernel, stride, padding }: PoolAttrs, rank: number, extra: Record<string, OnnxAttr> = {}): string {
  const x4 = rank === 3 ? o.node("Unsqueeze", [x, o.ints([0])]) : x;
  const y = o.node(op, [x4], { kernel_shape: { ints: kernel }, strides: { ints: stride }, pads: { ints: [...padding, ...padding] }, ...extra });
  return rank === 3 ? o.node("Squeeze", [y, o.ints([0])]) : y;
}
