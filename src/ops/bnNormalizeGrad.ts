/**
 * The derivative of bnNormalize in closed form, one kernel: with x̂ = (x − μ_B)/√(σ²_B + ε) and m the
 * number of values per channel,
 *
 *   dx = (dy − mean(dy) − x̂ ⊙ mean(dy ⊙ x̂)) / √(σ²_B + ε)      (means per channel)
 *
 * three terms: the direct path through x, the path through μ_B (−mean(dy)) and the path through
 * σ²_B (−x̂·mean(dy·x̂)). Per channel: μ and 1/√(σ² + ε) again (the forward's own loops), the two
 * sums, then dx.
 */
import { FlatgradError, fmtShape, sameShape } from "../ir/shape.js";
import { at, read } from "../lower/view.js";
import { checkBnRank, channelStats, emitChannels, type BnAttrs } from "./bnStats.js";
import { sameDtype } from "./family.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

export const bnNormalizeGrad: Primitive<(b: Builder, x: TensorLike, dy: TensorLike, eps?: number) => Node, BnAttrs> = {
  kind: "primitive",
  doc: "dx of x̂ = bnNormalize(x) given dy: (dy − mean(dy) − x̂·mean(dy·x̂))/√(σ² + ε) per channel",
  call: (b, x, dy, eps = 1e-5) => {
    const xn = b.lift(x, "bnNormalizeGrad", "x");
    const dn = b.lift(dy, "bnNormalizeGrad", "dy");
    return b.apply("bnNormalizeGrad", [xn, dn], { eps: b.number("bnNormalizeGrad", "eps", eps) });
  },
  dtype: sameDtype("bnNormalizeGrad", ["x", "dy"]),
  shape: ([s, t]) => {
    checkBnRank("bnNormalizeGrad", s!);
    if (!sameShape(s!, t!)) throw new FlatgradError(`bnNormalizeGrad: x is ${fmtShape(s!)} but dy is ${fmtShape(t!)}: they must be equal`, undefined, "FG190");
    return [...s!];
  },
  eval: ([x, dy], [s], { eps }) => {
    const { mean, inv, channel, count } = channelStats(x!, s!, eps);
    const C = s![1]!;
    const sdy = new Float64Array(C);
    const sdyx = new Float64Array(C);
    for (let i = 0; i < x!.length; i++) {
      const c = channel(i);
      sdy[c]! += dy![i]!;
      sdyx[c]! += dy![i]! * (x![i]! - mean[c]!) * inv[c]!;
    }
    return x!.map((v, i) => {
      const c = channel(i);
      return inv[c]! * (dy![i]! - sdy[c]! / count - (v - mean[c]!) * inv[c]! * (sdyx[c]! / count));
    });
  },
  // a gradient of a gradient (grad(y, xs) through batch norm): with s = 1/√(σ² + ε), x̂, k = mean(dy⊙x̂),
  // d = this node's value and u = bnNormalizeGrad(x, v) for the incoming cotangent v (the map dy ↦ dx
  // is symmetric, so u is also d/d(dy)):
  //   d/dx = −s·x̂·mean(v⊙d) − s·k·u − s·mean(v⊙x̂)·d   (through σ², through x̂, through k)
  vjp: ({ inputs: [x, dy], out, dy: v, attrs }, b) => {
    const axes = x!.shape.map((_, i) => i).filter((i) => i !== 1);
    const mean = (t: Node) => b.mean(t, axes, true);
    const xhat = b.bnNormalize(x!, attrs.eps);
    const centred = b.sub(x!, mean(x!));
    const s = b.div(1, b.sqrt(b.add(mean(b.square(centred)), attrs.eps)));
    const u = b.bnNormalizeGrad(x!, v, attrs.eps);
    const k = mean(b.mul(dy!, xhat));
    const dx = b.neg(b.add(b.add(b.mul(b.mul(s, xhat), mean(b.mul(v, out))), b.mul(b.mul(s, k), u)), b.mul(b.mul(s, mean(b.mul(v, xhat))), out)));
    return [dx, u];
  },
  math: ([x, dy], { eps }) => `(${dy} − mean(${dy}) − x̂⊙mean(${dy}⊙x̂))/√(σ²_B + ${eps}), x̂ = (${x} − μ_B)/√(σ²_B + ${eps})`,
  torch: ([x, dy], { eps }, { ins: [s] }) => `_normalize_grad(${x}, ${dy}, (${s!.flatMap((_, i) => (i === 1 ? [] : [`${i},`])).join(" ")}), ${eps})`,
  lower: {
    kind: "kernel",
    emit: (w, out, [x, dy], { eps }) =>
      emitChannels(w, x!, eps, ({ mean, inv, vars, over }) => {
        const count = x!.shape.reduce((a, d) => a * d, 1) / x!.shape[1]!;
        const [sdy, sdyx, g] = ["sdy", "sdyx", "g"].map((n) => w.local(n)) as [string, string, string];
        w.line(`let ${sdy} = 0;`);
        w.line(`let ${sdyx} = 0;`);
        over(() => {
          w.line(`const ${g} = ${read(dy!, vars)};`);
          w.line(`${sdy} += ${g};`);
          w.line(`${sdyx} += ${g} * (${read(x!, vars)} - ${mean});`);
        });
        // Σ dy·x̂ = inv·Σ dy·(x − μ); the two channel means of the three-term formula
        w.line(`${sdy} /= ${count};`);
        w.line(`${sdyx} *= ${inv} / ${count};`);
        over(() => w.line(`${at(out, vars)} = ${inv} * (${read(dy!, vars)} - ${sdy} - (${read(x!, vars)} - ${mean}) * ${inv} * ${sdyx});`));
      }),
  },
};
