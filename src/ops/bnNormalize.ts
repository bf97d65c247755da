/**
 * Batch norm's training-mode normalisation, x̂ = (x − μ_B)/√(σ²_B + ε), with μ_B and the biased σ²_B
 * of x over every axis but 1 (the channels), as F.batch_norm in train(). One kernel: per channel, the
 * mean, the variance, then x̂. Its derivative is one kernel too (bnNormalizeGrad): the closed form,
 * not a chain of reductions.
 */
import { at, read } from "../lower/view.js";
import { checkBnRank, channelStats, emitChannels, type BnAttrs } from "./bnStats.js";
import { sameDtype } from "./family.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

export const bnNormalize: Primitive<(b: Builder, x: TensorLike, eps?: number) => Node, BnAttrs> = {
  kind: "primitive",
  doc: "(x − μ)/√(σ² + ε) with the batch's mean and biased variance per channel (axis 1)",
  call: (b, x, eps = 1e-5) => {
    const xn = b.lift(x, "bnNormalize", "x");
    return b.apply("bnNormalize", [xn], { eps: b.number("bnNormalize", "eps", eps) });
  },
  dtype: sameDtype("bnNormalize", ["x"]),
  shape: ([s]) => {
    checkBnRank("bnNormalize", s!);
    return [...s!];
  },
  eval: ([x], [s], { eps }) => {
    const { mean, inv, channel } = channelStats(x!, s!, eps);
    return x!.map((v, i) => (v - mean[channel(i)]!) * inv[channel(i)]!);
  },
  vjp: ({ inputs: [x], dy, attrs }, b) => [b.bnNormalizeGrad(x!, dy, attrs.eps)],
  math: ([x], { eps }) => `(${x} − μ_B)/√(σ²_B + ${eps})`,
  // the batch's statistics, as F.batch_norm computes them in training mode without running statistics
  torch: ([x], { eps }) => `torch.nn.functional.batch_norm(${x}, None, None, training=True, eps=${eps})`,
  lower: {
    kind: "kernel",
    emit: (w, out, [x], { eps }) =>
      emitChannels(w, x!, eps, ({ mean, inv, vars, over }) => over(() => w.line(`${at(out, vars)} = (${read(x!, vars)} - ${mean}) * ${inv};`))),
  },
};
