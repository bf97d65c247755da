/** conv1d(x [N, C, L], W [O, C/groups, k], b?, { stride, padding, dilation, groups }): `F.conv1d`, conv2d's composite over one spatial axis. */
import { convolve, type ConvOptions } from "./conv2d.js";
import type { Builder, Composite, Node, TensorLike } from "./types.js";

export const conv1d: Composite<(b: Builder, x: TensorLike, W: TensorLike, bias?: TensorLike, options?: ConvOptions) => Node> = {
  kind: "composite",
  doc: "1-D convolution (cross-correlation) of x [N, C, L] with W [O, C/groups, k], as F.conv1d",
  call: (b, x, W, bias, options) => convolve(b, "conv1d", 1, x, W, bias, options),
};
