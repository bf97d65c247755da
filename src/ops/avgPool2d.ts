/**
 * avgPool2d(x, kernel, { stride = kernel, padding = 0, countIncludePad = true }): `F.avg_pool2d`
 * over the last two axes. A composite: pad with 0 → window (a view) → sum over the window's axes,
 * divided by kh·kw, or, without countIncludePad, by each window's count of real cells (a constant).
 */
import { poolArgs } from "./convArgs.js";
import type { Builder, Composite, Node, TensorLike } from "./types.js";

export const avgPool2d: Composite<(b: Builder, x: TensorLike, kernel: number | number[], options?: { stride?: number | number[]; padding?: number | number[]; countIncludePad?: boolean }) => Node> = {
  kind: "composite",
  doc: "mean over each kernel-sized window of the last two axes, as F.avg_pool2d",
  call: (b, x, kernel, options) => {
    const xn = b.lift(x, "avgPool2d", "x");
    const { kernel: k, stride, pads } = poolArgs("avgPool2d", xn.shape, kernel, options);
    const lead = xn.shape.slice(0, -2).map((): [number, number] => [0, 0]);
    const padded = pads.some(([p]) => p);
    const s = b.sum(b.window(padded ? b.pad(xn, [...lead, ...pads]) : xn, k, { stride }), [-2, -1]);
    if (options?.countIncludePad !== false || !padded) return b.mul(s, 1 / (k[0]! * k[1]!));
    // the real cells of window (i, j) along each axis: those of [i·s − p, i·s − p + k) inside [0, n)
    const [OH, OW] = s.shape.slice(-2) as [number, number];
    const real = (o: number, ax: number) => {
      const n = xn.shape[xn.shape.length - 2 + ax]!;
      const start = o * stride[ax]! - pads[ax]![0];
      return Math.min(start + k[ax]!, n) - Math.max(start, 0);
    };
    const counts = Array.from({ length: OH * OW }, (_, i) => 1 / (real(Math.floor(i / OW), 0) * real(i % OW, 1)));
    return b.mul(s, b.constant(counts, [OH, OW]));
  },
};
