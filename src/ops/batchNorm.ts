/**
 * batchNorm(x, { weight?, bias?, runningMean, runningVar }, { momentum = 0.1, eps = 1e-5 }), as
 * F.batch_norm over axis 1 of [N, C], [N, C, L] or [N, C, H, W]:
 *
 *   training  y = x̂·w + b, x̂ = (x − μ_B)/√(σ²_B + ε) with the batch's mean and biased variance
 *             (bnNormalize: one kernel, its backward one more), and once per training call
 *             running_mean ← (1 − momentum)·running_mean + momentum·μ_B,
 *             running_var  ← (1 − momentum)·running_var  + momentum·σ²_B·m/(m − 1)  (unbiased)
 *   eval      y = (x − running_mean)/√(running_var + ε)·w + b
 *
 * m is the number of values per channel (N·L, N·H·W). The two modes are one graph (byMode); the
 * running statistics are buffers, given their new values with `assign`.
 */
import { FlatgradError, fmtShape, fmtValue, sameShape } from "../ir/shape.js";
import { checkBnRank } from "./bnStats.js";
import type { Builder, Composite, Node, TensorLike } from "./types.js";

export interface BatchNormStats {
  weight?: TensorLike;
  bias?: TensorLike;
  runningMean: Node;
  runningVar: Node;
}
export interface BatchNormOptions {
  momentum?: number;
  eps?: number;
}

export const batchNorm: Composite<(b: Builder, x: TensorLike, stats: BatchNormStats, options?: BatchNormOptions) => Node> = {
  kind: "composite",
  doc: "batch norm over axis 1: batch statistics and a running update in training, the running statistics in eval",
  call: (b, x, stats, options = {}) => {
    const xn = b.lift(x, "batchNorm", "x");
    const s = xn.shape;
    checkBnRank("batchNorm", s);
    const C = s[1]!;
    const what = `x is ${fmtShape(s)}`;
    if (typeof stats !== "object" || stats === null)
      throw new FlatgradError(`batchNorm: ${what} but the second argument is ${fmtValue(stats)}: pass { runningMean, runningVar, weight?, bias? }`, undefined, "FG191");
    const { momentum = 0.1, eps = 1e-5 } = options;
    if (typeof momentum !== "number" || !(momentum >= 0 && momentum <= 1))
      throw new FlatgradError(`batchNorm: momentum must be a number in [0, 1], got ${fmtValue(momentum)}`, undefined, "FG193");
    if (typeof eps !== "number" || !(eps > 0) || !Number.isFinite(eps))
      throw new FlatgradError(`batchNorm: eps must be a finite number > 0, got ${fmtValue(eps)}`, undefined, "FG193");
    const count = s.reduce((a, d) => a * d, 1) / C;
    if (count < 2)
      throw new FlatgradError(`batchNorm: ${what}: each channel has 1 value, and training mode needs more than 1 (the batch variance of one value is 0, its unbiased variance undefined)`, undefined, "FG194");
    const running = (key: "runningMean" | "runningVar"): Node => {
      const r = stats[key];
      const isBuffer = typeof r === "object" && r !== null && (r as Node).op === "buffer";
      if (!isBuffer)
      {
        const is = r === undefined ? "missing" : typeof r === "object" && r !== null && "op" in r ? `a ${(r as Node).op} ${fmtShape((r as Node).shape)}, not a buffer` : `${fmtValue(r)}, not a buffer`;
        throw new FlatgradError(`batchNorm: ${what} but ${key} is ${is}: declare it with g.buffer(name, [${C}]${key === "runningVar" ? ', { init: "ones" }' : ""})`, undefined, "FG191");
      }
      if (!sameShape(r.shape, [C])) throw new FlatgradError(`batchNorm: ${what} but ${key} is ${fmtShape(r.shape)}: it must be [${C}], one value per channel (axis 1)`, undefined, "FG191");
      return r;
    };
    const rm = running("runningMean");
    const rv = running("runningVar");
    const affine = (key: "weight" | "bias"): Node | undefined => {
      if (stats[key] === undefined) return undefined;
      const t = b.lift(stats[key]!, "batchNorm", key);
      if (!sameShape(t.shape, [C])) throw new FlatgradError(`batchNorm: ${what} but ${key} is ${fmtShape(t.shape)}: it must be [${C}], one value per channel (axis 1)`, undefined, "FG192");
      return t;
    };
    const w = affine("weight");
    const bias = affine("bias");
    // a [C] vector against x: C on axis 1, size 1 on the axes after it
    const perC = (v: Node) => (s.length > 2 ? b.reshape(v, [C, ...s.slice(2).map(() => 1)]) : v);
    const scaleShift = (v: Node) => {
      const scaled = w ? b.mul(v, perC(w)) : v;
      return bias ? b.add(scaled, perC(bias)) : scaled;
    };
    const train = scaleShift(b.bnNormalize(xn, eps));
    const evalValue = scaleShift(b.mul(b.sub(xn, perC(rm)), perC(b.div(1, b.sqrt(b.add(rv, eps))))));
    // the running update, from the batch's mean and unbiased variance (training calls only)
    const axes = s.map((_, i) => i).filter((i) => i !== 1);
    const mu = b.mean(xn, axes);
    const varUnbiased = b.mul(b.sum(b.square(b.sub(xn, perC(mu))), axes), 1 / (count - 1));
    b.assign(rm, b.add(b.mul(rm, 1 - momentum), b.mul(mu, momentum)));
    b.assign(rv, b.add(b.mul(rv, 1 - momentum), b.mul(varUnbiased, momentum)));
    return b.byMode(train, evalValue);
  },
};
