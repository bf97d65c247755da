/**
 * conv2d(x [N, C, H, W], W [O, C/groups, kh, kw], b?, { stride, padding, dilation, groups }):
 * `F.conv2d`. A composite: the arguments checked, x padded (a `pad` node), then the `conv`
 * primitive (conv.ts) and the bias:  Z = X ⋆ W + b. Its gradients are primitives too:
 * dX = conv_transpose(dZ, W) (convInputGrad.ts), dW = dZ ⋆ X (convWeightGrad.ts), db = Σ dZ.
 * `convolve` is the same for one spatial axis (conv1d).
 */
import { FlatgradError, fmtValue } from "../ir/shape.js";
import { checkFit, checkRank, paddings, positives, shapesOf } from "./convArgs.js";
import type { Builder, Composite, Node, TensorLike } from "./types.js";

export interface ConvOptions {
  stride?: number | number[];
  padding?: number | number[] | "same";
  dilation?: number | number[];
  groups?: number;
}

/** A convolution over the last `k` axes of x [N, C, ...spatial] with W [O, C/groups, ...kernel]. */
export function convolve(b: Builder, op: string, k: number, x: TensorLike, W: TensorLike, bias: TensorLike | undefined, options: ConvOptions = {}): Node {
  const xn = b.lift(x, op, "x");
  const Wn = b.lift(W, op, "W");
  const bn = bias === undefined ? undefined : b.lift(bias, op, "b");
  const shapes = shapesOf([["x", xn.shape], ["W", Wn.shape], ["b", bn?.shape]]);
  const layouts = k === 1 ? ["[N, C, L]", "[O, C/groups, k]"] : ["[N, C, H, W]", "[O, C/groups, kh, kw]"];
  checkRank(op, "x", xn.shape, k + 2, layouts[0]!, shapes);
  checkRank(op, "W", Wn.shape, k + 2, layouts[1]!, shapes);
  const [, C] = xn.shape as [number, number];
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

  // padding is a pad node (its gradient a slice), so the primitive is a "valid" convolution: Z = X ⋆ W + b
  const xp = pads.some(([p, q]) => p || q) ? b.pad(xn, [[0, 0], [0, 0], ...pads]) : xn;
  const z = b.conv(xp, Wn, { stride, dilation, groups });
  return bn ? b.add(z, b.reshape(bn, [O, ...kernel.map(() => 1)])) : z;
}

export const conv2d: Composite<(b: Builder, x: TensorLike, W: TensorLike, bias?: TensorLike, options?: ConvOptions) => Node> = {
  kind: "composite",
  doc: "2-D convolution (cross-correlation) of x [N, C, H, W] with W [O, C/groups, kh, kw], as F.conv2d",
  call: (b, x, W, bias, options) => convolve(b, "conv2d", 2, x, W, bias, options),
};
