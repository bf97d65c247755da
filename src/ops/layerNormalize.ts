/**
 * layerNormalize(x, { dims, eps }): x̂ = (x − μ)/√(σ² + ε) over the last `dims` axes (biased
 * variance, as F.layer_norm), one kernel; layerNorm applies its weight and bias to it. Its
 * derivative is the closed form, one kernel too (layerNormalizeGrad), not a chain of reductions.
 */
import { size, type Shape } from "../ir/shape.js";
import { at, read, type KernelWriter, type View } from "../lower/view.js";
import { sameDtype } from "./family.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

export type NormAttrs = { dims: number; eps: number };

/** Loops over the rows (the leading axes) and, inside, helpers that loop over one row's elements. */
export function rowKernel(w: KernelWriter, s: Shape, dims: number, body: (each: (f: (vars: string[]) => void) => void, n: number) => void): void {
  const vars = s.map((_, d) => w.local(d < s.length - dims ? `i${d}` : `k${d}`));
  const lead = s.length - dims;
  const n = size(s.slice(lead));
  const nest = (d: number, end: number, f: () => void): void => (d < end ? w.loop(vars[d]!, s[d]!, () => nest(d + 1, end, f)) : f());
  nest(0, lead, () => body((f) => nest(lead, s.length, () => f(vars)), n));
}

/** The row statistics as lines: `mean` and `rstd` = 1/√(σ² + ε) of x's row at the current lead indices. */
export function rowStats(w: KernelWriter, x: View, each: (f: (vars: string[]) => void) => void, n: number, eps: number): { mean: string; rstd: string } {
  const [mean, v, d, rstd] = ["mean", "v", "d", "rstd"].map((p) => w.local(p)) as [string, string, string, string];
  w.line(`let ${mean} = 0;`);
  each((vars) => w.line(`${mean} += ${read(x, vars)};`));
  w.line(`${mean} /= ${n};`);
  w.line(`let ${v} = 0;`);
  each((vars) => {
    w.line(`const ${d} = ${read(x, vars)} - ${mean};`);
    w.line(`${v} += ${d} * ${d};`);
  });
  w.line(`const ${rstd} = 1 / Math.sqrt(${v} / ${n} + ${eps});`);
  return { mean, rstd };
}

/** The same statistics in float64 for row r of a row-major x (the reference semantics). */
export function evalRowStats(x: Float64Array, r: number, n: number, eps: number): { mean: number; rstd: number } {
  let mean = 0;
  for (let k = 0; k < n; k++) mean += x[r * n + k]!;
  mean /= n;
  let v = 0;
  for (let k = 0; k < n; k++) v += (x[r * n + k]! - mean) ** 2;
  return { mean, rstd: 1 / Math.sqrt(v / n + eps) };
}

export const layerNormalize: Primitive<(b: Builder, x: TensorLike, attrs: NormAttrs) => Node, NormAttrs> = {
  kind: "primitive",
  doc: "(x − mean)/√(var + eps) over the last `dims` axes (biased variance): layerNorm without weight and bias",
  call: (b, x, { dims, eps }) => b.apply("layerNormalize", [b.lift(x, "layerNormalize", "x")], { dims, eps }),
  dtype: sameDtype("layerNormalize", ["x"]),
  shape: ([s]) => [...s!],
  eval: ([x], [s], { dims, eps }) => {
    const n = size(s!.slice(s!.length - dims));
    const res = new Float64Array(x!.length);
    for (let r = 0; r < x!.length / n; r++) {
      const { mean, rstd } = evalRowStats(x!, r, n, eps);
      for (let k = 0; k < n; k++) res[r * n + k] = (x![r * n + k]! - mean) * rstd;
    }
    return res;
  },
  // closed form, one kernel: dx = (1/σ)·(dy − mean(dy) − x̂·mean(dy ⊙ x̂)) per row
  vjp: ({ inputs: [x], dy, attrs }, b) => [b.layerNormalizeGrad(x!, dy, attrs)],
  math: ([x], { dims, eps }) => `(${x} − μ)/√(σ² + ${eps}) over the last ${dims} ax${dims === 1 ? "is" : "es"}`,
  torch: ([x], { dims, eps }, { ins: [s] }) => `torch.nn.functional.layer_norm(${x}, (${s!.slice(s!.length - dims).map((d) => `${d},`).join(" ")}), eps=${eps})`,
  onnx: (o, [x], { dims, eps }, { ins: [s] }) => {
    const norm = s!.slice(s!.length - dims);
    const ones = o.floats(new Array<number>(norm.reduce((a, b) => a * b, 1)).fill(1), norm);
    return o.node("LayerNormalization", [x!, ones], { axis: { i: -dims }, epsilon: { f: eps } });
  },
  lower: {
    kind: "kernel",
    emit: (w, out, [x], { dims, eps }) =>
      rowKernel(w, x!.shape, dims, (each, n) => {
        const { mean, rstd } = rowStats(w, x!, each, n, eps);
        each((vars) => w.line(`${at(out, vars)} = (${read(x!, vars)} - ${mean}) * ${rstd};`));
      }),
  },
};
