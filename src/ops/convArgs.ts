/**
 * The arguments of conv1d, conv2d, maxPool2d and avgPool2d, read and checked in one place: a kernel,
 * stride, dilation or padding given as a number or one per spatial axis, PyTorch's "same" padding,
 * and the window's fit in the padded input. Every error names the op and the operand shapes.
 */
import { FlatgradError, fmtShape, fmtValue, type Shape } from "../ir/shape.js";

/** A number or one per spatial axis, each a positive integer (FG183). */
export function positives(op: string, what: string, v: unknown, k: number, dflt: number, shapes: string): number[] {
  const list = v === undefined ? new Array<number>(k).fill(dflt) : typeof v === "number" ? new Array<number>(k).fill(v) : v;
  if (!Array.isArray(list) || list.length !== k || !list.every((d) => typeof d === "number" && Number.isInteger(d) && d >= 1))
    throw new FlatgradError(`${op}: ${shapes} but ${what} ${fmtValue(v)} is not a positive integer${k > 1 ? ` or ${k} of them` : ""}`, undefined, "FG183");
  return [...(list as number[])];
}

/**
 * The [before, after] padding of each spatial axis: a number or one per axis (each a non-negative
 * integer), or "same" (stride 1 only): d·(k − 1) cells in all, the extra cell of an even span after,
 * as PyTorch pads (FG184).
 */
export function paddings(op: string, v: unknown, k: number, stride: number[], span: number[], shapes: string): [number, number][] {
  if (v === "same") {
    if (stride.some((s) => s !== 1)) throw new FlatgradError(`${op}: ${shapes} but padding "same" needs stride 1, got stride ${fmtValue(stride)}`, undefined, "FG184");
    return span.map((s) => [Math.floor((s - 1) / 2), s - 1 - Math.floor((s - 1) / 2)]);
  }
  const list = v === undefined ? new Array<number>(k).fill(0) : typeof v === "number" ? new Array<number>(k).fill(v) : v;
  if (!Array.isArray(list) || list.length !== k || !list.every((d) => typeof d === "number" && Number.isInteger(d) && d >= 0))
    throw new FlatgradError(`${op}: ${shapes} but padding ${fmtValue(v)} is not a non-negative integer${k > 1 ? ` or ${k} of them` : ""}${op.startsWith("conv") ? ' or "same"' : ""}`, undefined, "FG184");
  return (list as number[]).map((p) => [p, p]);
}

/** FG182 when a window (span d·(k − 1) + 1) is larger than the padded input on some spatial axis. */
export function checkFit(op: string, x: Shape, pads: [number, number][], span: number[], shapes: string): void {
  const lead = x.length - span.length;
  span.forEach((s, i) => {
    const n = x[lead + i]! + pads[i]![0] + pads[i]![1];
    if (s > n)
      throw new FlatgradError(`${op}: ${shapes} but the window spans ${s} > ${n}, the padded input${pads[i]![0] + pads[i]![1] ? ` (${x[lead + i]} + padding ${pads[i]![0]}+${pads[i]![1]})` : ""} at axis ${lead + i}`, undefined, "FG182");
  });
}

/** FG180 unless x has `rank` axes. */
export function checkRank(op: string, what: string, s: Shape, rank: number, layout: string, shapes: string): void {
  if (s.length !== rank) throw new FlatgradError(`${op}: ${shapes}: ${what} must have ${rank} axes, shaped ${layout}`, undefined, "FG180");
}

/** The shapes of the operands, for messages: "x is [..] but W is [..]" reads as "x is [..], W is [..]". */
export const shapesOf = (named: [string, Shape | undefined][]): string =>
  named
    .filter(([, s]) => s)
    .map(([n, s]) => `${n} is ${fmtShape(s!)}`)
    .join(", ");

/** A pooling's kernel, stride (default: the kernel) and padding (at most half the kernel, FG185), checked against x [N, C, H, W] or [C, H, W]. */
export function poolArgs(op: string, x: Shape, kernel: unknown, options: { stride?: number | number[]; padding?: number | number[] } = {}) {
  const shapes = `x is ${fmtShape(x)}`;
  if (x.length !== 3 && x.length !== 4) throw new FlatgradError(`${op}: ${shapes}: x must have 3 or 4 axes, shaped [N, C, H, W] or [C, H, W]`, undefined, "FG180");
  const k = positives(op, "kernel", kernel, 2, 1, shapes);
  const stride = positives(op, "stride", options.stride ?? k, 2, 1, shapes);
  const pads = paddings(op, options.padding, 2, stride, k, shapes);
  pads.forEach(([p], i) => {
    if (p > Math.floor(k[i]! / 2))
      throw new FlatgradError(`${op}: ${shapes} but padding ${fmtValue(options.padding)} is more than half the kernel ${fmtValue(k)} (at most ${Math.floor(k[i]! / 2)} on axis ${x.length - 2 + i})`, undefined, "FG185");
  });
  checkFit(op, x, pads, k, shapes);
  return { kernel: k, stride, pads };
}
