/**
 * conv2d(x [N, C, H, W], W [O, C/groups, kh, kw], b?, { stride, padding, dilation, groups }):
 * `F.conv2d`. A composite: pad → window (a view) → one im2col copy → matmul with the flattened
 * kernel, so the forward product and both gradients (dcols = dZ·W, dW = dZᵀ·cols, then one
 * overlap-add back to x) run on the matmul kernels, SIMD on the float32 WebAssembly target.
 * `convolve` is the same for any number of spatial axes (conv1d uses it with one).
 */
import { FlatgradError, fmtValue, type Shape } from "../ir/shape.js";
import { checkFit, checkRank, paddings, positives, shapesOf } from "./convArgs.js";
import type { Builder, Composite, Node, TensorLike } from "./types.js";

export interface ConvOptions {
  stride?: number | number[];
  padding?: number | number[] | "same";
  dilation?: number | number[];
  groups?: number;
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

/** A convolution over the last `k` axes of x [N, C, ...spatial] with W [O, C/groups, ...kernel]. */
export function convolve(b: Builder, op: string, k: number, x: TensorLike, W: TensorLike, bias: TensorLike | undefined, options: ConvOptions = {}): Node {
  const xn = b.lift(x, op, "x");
  const Wn = b.lift(W, op, "W");
  const bn = bias === undefined ? undefined : b.lift(bias, op, "b");
  const shapes = shapesOf([["x", xn.shape], ["W", Wn.shape], ["b", bn?.shape]]);
  const layouts = k === 1 ? ["[N, C, L]", "[O, C/groups, k]"] : ["[N, C, H, W]", "[O, C/groups, kh, kw]"];
  checkRank(op, "x", xn.shape, k + 2, layouts[0]!, shapes);
  checkRank(op, "W", Wn.shape, k + 2, layouts[1]!, shapes);
  const [N, C] = xn.shape as [number, number];
  const [O, Cg] = Wn.shape as [number, number];
  const kernel = Wn.shape.slice(2);
  const groups = options.groups ?? 1;
  if (typeof groups !== "number" || !Number.isInteger(groups) || groups < 1 || C % groups || O % groups)
    throw new FlatgradError(`${op}: ${shapes} but groups ${fmtValue(groups)} must be a positive integer dividing both the ${C} input and the ${O} output channels`, undefined, "FG181");
  if (Cg * groups !== C)
    throw new FlatgradError(`${op}: ${shapes} but x has ${C} channels and W takes ${Cg}${groups > 1 ? ` per group × ${groups} groups = ${Cg * groups}` : ""}`, undefined, "FG180");
  if (bn && !(bn.shape.length === 1 && bn.shape[0] === O)) throw new FlatgradError(`${op}: ${shapes}: b must be [${O}], the out channels of W`, undefined, "FG180");
  const stride = positives(op, "stride", options.stride, k, 1, shapes);
  const dilation = positives(op, "dilation", options.dilation, k, 1, shapes);
  const span = kernel.map((kd, i) => dilation[i]! * (kd - 1) + 1);
  const pads = paddings(op, options.padding, k, stride, span, shapes);
  checkFit(op, xn.shape, pads, span, shapes);

  const xp = pads.some(([p, q]) => p || q) ? b.pad(xn, [[0, 0], [0, 0], ...pads]) : xn;
  const win = b.window(xp, kernel, { stride, dilation }); // [N, C, ...out, ...kernel]
  const outS: Shape = win.shape.slice(2, 2 + k);
  const P = outS.reduce((a, d) => a * d, 1);
  const K = kernel.reduce((a, d) => a * d, Cg);
  if (groups === 1) {
    // im2col: one row per output position, [N·P, C·kh·kw]; Z = cols·Wᵀ + b
    const cols = b.reshape(b.transpose(win, [0, ...range(2, 2 + k), 1, ...range(2 + k, 2 + 2 * k)]), [N * P, K]);
    const z = b.linear(cols, b.reshape(Wn, [O, K]), bn); // [N·P, O]
    return b.transpose(b.reshape(z, [N, ...outS, O]), [0, k + 1, ...range(1, k + 1)]);
  }
  // each group is its own im2col product: [G, N·P, C/G·kh·kw] · [G, C/G·kh·kw, O/G]
  const G = groups;
  const wg = b.reshape(win, [N, G, Cg, ...win.shape.slice(2)]); // [N, G, Cg, ...out, ...kernel]
  const cols = b.reshape(b.transpose(wg, [1, 0, ...range(3, 3 + k), 2, ...range(3 + k, 3 + 2 * k)]), [G, N * P, K]);
  const z = b.matmul(cols, b.transpose(b.reshape(Wn, [G, O / G, K]), [0, 2, 1])); // [G, N·P, O/G]
  const y = b.reshape(b.transpose(b.reshape(z, [G, N, ...outS, O / G]), [1, 0, k + 2, ...range(2, k + 2)]), [N, O, ...outS]);
  return bn ? b.add(y, b.reshape(bn, [O, ...outS.map(() => 1)])) : y;
}

export const conv2d: Composite<(b: Builder, x: TensorLike, W: TensorLike, bias?: TensorLike, options?: ConvOptions) => Node> = {
  kind: "composite",
  doc: "2-D convolution (cross-correlation) of x [N, C, H, W] with W [O, C/groups, kh, kw], as F.conv2d",
  call: (b, x, W, bias, options) => convolve(b, "conv2d", 2, x, W, bias, options),
};
