/**
 * What batch norm's two kernels (bnNormalize, bnNormalizeGrad) share: the per-channel statistics of
 * x over every axis but 1, as plain loops for the interpreter and as generated loops for a kernel.
 * Both kernels compute them the same way (two passes: the mean, then Σ (x − μ)²), so the backward
 * recomputes exactly the forward's μ and 1/√(σ² + ε) instead of storing them.
 */
import { FlatgradError, fmtShape, size, type Shape } from "../ir/shape.js";
import { read, type KernelWriter, type View } from "../lower/view.js";

/** The batch-norm kernels' attribute: ε. */
export type BnAttrs = { eps: number };

/** A shape batch norm accepts: [N, C], [N, C, L] or [N, C, H, W] (FG190). */
export function checkBnRank(op: string, s: Shape): void {
  if (s.length < 2 || s.length > 4)
    throw new FlatgradError(`${op}: x is ${fmtShape(s)} but batch norm takes x of rank 2, 3 or 4 ([N, C], [N, C, L] or [N, C, H, W]), normalising over every axis but 1`, undefined, "FG190");
}

/** Per channel c: [mean, 1/√(biased variance + ε)] of x over every axis but 1, in float64. */
export function channelStats(x: Float64Array, s: Shape, eps: number): { mean: Float64Array; inv: Float64Array; channel: (i: number) => number; count: number } {
  const C = s[1]!;
  const inner = size(s.slice(2));
  const count = size(s) / C;
  const channel = (i: number) => Math.floor(i / inner) % C;
  const mean = new Float64Array(C);
  const sq = new Float64Array(C);
  for (let i = 0; i < x.length; i++) mean[channel(i)]! += x[i]!;
  for (let c = 0; c < C; c++) mean[c] = mean[c]! / count;
  for (let i = 0; i < x.length; i++) sq[channel(i)]! += (x[i]! - mean[channel(i)]!) ** 2;
  const inv = sq.map((q) => 1 / Math.sqrt(q / count + eps));
  return { mean, inv, channel, count };
}

/**
 * Generated loops: for each channel (loop index vars[1]), declare `mean` and `inv` as above, then
 * run `body` for each channel; `over(body)` loops over the channel's elements with `vars` set.
 */
export function emitChannels(w: KernelWriter, x: View, eps: number, body: (names: { mean: string; inv: string; vars: string[]; over: (inner: () => void) => void }) => void): void {
  const s = x.shape;
  const vars = s.map((_, i) => w.local(i === 1 ? "c" : `i${i}`));
  const count = size(s) / s[1]!;
  const [mean, q, d, inv] = ["mean", "q", "d", "inv"].map((n) => w.local(n)) as [string, string, string, string];
  const over = (inner: () => void) => {
    const axes = s.map((_, i) => i).filter((i) => i !== 1);
    const nest = (k: number): void => (k === axes.length ? inner() : w.loop(vars[axes[k]!]!, s[axes[k]!]!, () => nest(k + 1)));
    nest(0);
  };
  w.loop(vars[1]!, s[1]!, () => {
    w.line(`let ${mean} = 0;`);
    over(() => w.line(`${mean} += ${read(x, vars)};`));
    w.line(`${mean} /= ${count};`);
    w.line(`let ${q} = 0;`);
    over(() => {
      w.line(`const ${d} = ${read(x, vars)} - ${mean};`);
      w.line(`${q} += ${d} * ${d};`);
    });
    w.line(`const ${inv} = 1 / Math.sqrt(${q} / ${count} + ${eps});`);
    body({ mean, inv, vars, over });
  });
}
