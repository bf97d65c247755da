/**
 * window(x, kernel, { stride, dilation }): every kernel-sized window over the last axes of x, as
 * new axes: x [..., H, W] → [..., OH, OW, KH, KW]. It is a view (overlapping strides, never a
 * copy), so a convolution is pad → window → matmul and a pooling window → max or mean, and both
 * inherit the matmul's kernels and the reductions' loops.
 */
import { FlatgradError, fmtShape, fmtValue, rowMajorStrides, size, type Shape } from "../ir/shape.js";
import { sameDtype } from "./family.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

export interface WindowAttrs {
  kernel: number[];
  stride: number[];
  dilation: number[];
  [key: string]: unknown;
}

const ints = (op: string, what: string, v: unknown, k: number, dflt: number): number[] => {
  const list = v === undefined ? new Array<number>(k).fill(dflt) : typeof v === "number" ? new Array<number>(k).fill(v) : v;
  if (!Array.isArray(list) || list.length !== k || !list.every((d) => typeof d === "number" && Number.isInteger(d) && d >= 1))
    throw new FlatgradError(`${op}: ${what} must be a positive integer or ${k} of them, got ${fmtValue(v)}`, undefined, "FG153");
  return [...(list as number[])];
};

/** The windows' count along each windowed axis: ⌊(n − d·(k − 1) − 1)/s⌋ + 1 (FG153 when a window does not fit). */
export function windowShape(op: string, s: Shape, { kernel, stride, dilation }: WindowAttrs): number[] {
  const k = kernel.length;
  if (k === 0 || k > s.length) throw new FlatgradError(`${op}: x is ${fmtShape(s)} but the kernel ${fmtShape(kernel)} needs 1 to ${s.length} axes`, undefined, "FG153");
  const lead = s.slice(0, s.length - k);
  const counts = kernel.map((kd, i) => {
    const n = s[s.length - k + i]!;
    const span = dilation[i]! * (kd - 1) + 1;
    if (span > n) throw new FlatgradError(`${op}: x is ${fmtShape(s)} but the kernel ${fmtShape(kernel)} (dilation ${fmtShape(dilation)}) spans ${span} > ${n} at axis ${s.length - k + i}`, undefined, "FG153");
    return Math.floor((n - span) / stride[i]!) + 1;
  });
  return [...lead, ...counts, ...kernel];
}

/**
 * The strides of the windows [..., OH, OW, KH, KW] over x, from x's strides: the lead axes move as
 * in x, the window axes by stride, the kernel axes by dilation (the index map of the view, of the
 * reference `eval`, and of overlapAdd's scatter).
 */
export function windowStrides(xStrides: readonly number[], { kernel, stride, dilation }: WindowAttrs): number[] {
  const lead = xStrides.length - kernel.length;
  const spatial = xStrides.slice(lead);
  return [...xStrides.slice(0, lead), ...spatial.map((st, i) => st * stride[i]!), ...spatial.map((st, i) => st * dilation[i]!)];
}

/** For each element of the windowed tensor (row-major over `out`), the index it reads in x. */
export function windowSource(s: Shape, out: Shape, attrs: WindowAttrs): (flat: number) => number {
  const outStrides = rowMajorStrides(out);
  const steps = windowStrides(rowMajorStrides(s), attrs);
  return (flat) => out.reduce((src, n, d) => src + (Math.floor(flat / outStrides[d]!) % n) * steps[d]!, 0);
}

export const window: Primitive<(b: Builder, x: TensorLike, kernel: number | number[], options?: { stride?: number | number[]; dilation?: number | number[] }) => Node, WindowAttrs> = {
  kind: "primitive",
  doc: "every kernel-sized window over the last axes, as new axes [..., OH, OW, KH, KW] (a view)",
  call: (b, x, kernel, options) => {
    const xn = b.lift(x, "window", "x");
    const ks = Array.isArray(kernel) ? kernel : [kernel];
    const k = ints("window", "kernel", ks, ks.length, 1);
    return b.apply("window", [xn], { kernel: k, stride: ints("window", "stride", options?.stride, k.length, 1), dilation: ints("window", "dilation", options?.dilation, k.length, 1) });
  },
  dtype: sameDtype("window", ["x"]),
  shape: ([s], attrs) => windowShape("window", s!, attrs),
  eval: ([x], [s], attrs, out) => {
    const src = windowSource(s!, out, attrs);
    return Float64Array.from({ length: size(out) }, (_, i) => x![src(i)]!);
  },
  // the adjoint of reading overlapping windows: each window's gradient added back where it was read
  vjp: ({ inputs: [x], dy, attrs }, b) => [b.apply("overlapAdd", [dy], { shape: [...x!.shape], kernel: attrs.kernel, stride: attrs.stride, dilation: attrs.dilation })],
  math: ([x], { kernel, stride, dilation }) =>
    `window(${x}, ${kernel.join("×")}${stride.some((v) => v !== 1) ? `, stride ${stride.join("×")}` : ""}${dilation.some((v) => v !== 1) ? `, dilation ${dilation.join("×")}` : ""})`,
  // the same overlapping view, spelled as PyTorch strides over a contiguous x
  torch: ([x], attrs, { ins: [s], out }) => `${x}.contiguous().as_strided((${out.join(", ")},), (${windowStrides(rowMajorStrides(s!), attrs).join(", ")},))`,
  // ONNX has no strided view: gather every window's elements by their flat offsets within the windowed axes
  onnx: (o, [x], attrs, { ins: [s], out }) => {
    const k = attrs.kernel.length;
    const lead = s!.slice(0, s!.length - k);
    const spatial = s!.slice(s!.length - k);
    const offsets = windowSource(spatial, out.slice(lead.length), attrs);
    const indices = Array.from({ length: size(out.slice(lead.length)) }, (_, i) => offsets(i));
    return o.node("Gather", [o.node("Reshape", [x!, o.ints([...lead, size(spatial)])]), o.ints(indices, out.slice(lead.length))], { axis: { i: lead.length } });
  },
  lower: {
    kind: "view",
    view: (v, attrs, out) => ({ ...v, shape: [...out], strides: windowStrides(v.strides, attrs) }),
  },
};
