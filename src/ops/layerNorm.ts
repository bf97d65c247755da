/**
 * layerNorm(x, weight?, bias?, { dims = 1, eps = 1e-5 }): F.layer_norm over the last `dims`
 * axes: x̂·weight + bias with x̂ = layerNormalize(x) (one kernel forward, one closed-form kernel
 * backward); weight and bias are shaped like those axes and skipped by passing undefined.
 */
import { FlatgradError, fmtShape, fmtValue, sameShape } from "../ir/shape.js";
import type { Builder, Composite, Node, TensorLike } from "./types.js";

type LayerNormOptions = { dims?: number; eps?: number };

export const layerNorm: Composite<(b: Builder, x: TensorLike, weight?: TensorLike, bias?: TensorLike, options?: LayerNormOptions) => Node> = {
  kind: "composite",
  doc: "F.layer_norm over the last `dims` axes: (x − mean)/√(var + eps)·weight + bias, weight and bias optional",
  call: (b, x, weight, bias, options = {}) => {
    const xn = b.lift(x, "layerNorm", "x");
    const s = xn.shape;
    const fail = (why: string) => new FlatgradError(`layerNorm: x is ${fmtShape(s)}${why}`, undefined, "FG221");
    if (typeof options !== "object" || options === null) throw fail(` but the options are ${fmtValue(options)}: pass { dims?, eps? }`);
    const unknown = Object.keys(options).find((k) => k !== "dims" && k !== "eps");
    if (unknown) throw fail(` but the options have an unknown field "${unknown}" (known: dims, eps)`);
    const { dims = 1, eps = 1e-5 } = options;
    if (typeof dims !== "number" || !Number.isInteger(dims) || dims < 1 || dims > s.length)
      throw fail(` but dims is ${fmtValue(dims)}: it must be an integer from 1 to the rank ${s.length} (the number of trailing axes normalised)`);
    if (typeof eps !== "number" || !Number.isFinite(eps) || eps < 0) throw fail(` but eps is ${fmtValue(eps)}: it must be a finite number ≥ 0`);
    const normalized = s.slice(s.length - dims);
    const affine = (t: TensorLike | undefined, role: "weight" | "bias") => {
      if (t === undefined) return undefined;
      const tn = b.lift(t, "layerNorm", role);
      if (!sameShape(tn.shape, normalized)) throw fail(` but ${role} is ${fmtShape(tn.shape)}: it must be ${fmtShape(normalized)}, the last ${dims === 1 ? "axis" : `${dims} axes`} of x`);
      return tn;
    };
    const [w, c] = [affine(weight, "weight"), affine(bias, "bias")];
    const xh = b.layerNormalize(xn, { dims, eps });
    const scaled = w ? b.mul(xh, w) : xh;
    return c ? b.add(scaled, c) : scaled;
  },
};
