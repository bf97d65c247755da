/**
 * maxPool2d(x, kernel, { stride = kernel, padding = 0 }): `F.max_pool2d` over the last two axes.
 * A composite: pad with −∞ → window (a view) → max over the window's axes, whose derivative sends
 * each window's gradient to its first maximum in row-major window order (ties included).
 */
import { poolArgs } from "./convArgs.js";
import type { Builder, Composite, Node, TensorLike } from "./types.js";

export const maxPool2d: Composite<(b: Builder, x: TensorLike, kernel: number | number[], options?: { stride?: number | number[]; padding?: number | number[] }) => Node> = {
  kind: "composite",
  doc: "maximum over each kernel-sized window of the last two axes, as F.max_pool2d",
  call: (b, x, kernel, options) => {
    const xn = b.lift(x, "maxPool2d", "x");
    const { kernel: k, stride, pads } = poolArgs("maxPool2d", xn.shape, kernel, options);
    const lead = xn.shape.slice(0, -2).map((): [number, number] => [0, 0]);
    // −∞ padding never wins a max: padding is at most half the kernel, so every window holds a real cell
    const xp = pads.some(([p]) => p) ? b.apply("pad", [xn], { pads: [...lead, ...pads], value: -Infinity }) : xn;
    return b.max(b.window(xp, k, { stride }), [-2, -1]);
  },
};
