/**
 * layerNormalizeGrad(x, dy, { dims, eps }): the derivative of layerNormalize in closed form, one
 * kernel: per row, with x̂ = (x − μ)·rstd and rstd = 1/√(σ² + ε),
 *   dx = rstd·(dy − mean(dy) − x̂·mean(dy ⊙ x̂))
 * (the mean term is the derivative through μ, the x̂ term the one through σ²). The statistics
 * are recomputed from x, so the forward pass keeps nothing but x.
 */
import { size } from "../ir/shape.js";
import { at, read } from "../lower/view.js";
import { sameDtype } from "./family.js";
import { evalRowStats, rowKernel, rowStats, type NormAttrs } from "./layerNormalize.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

export const layerNormalizeGrad: Primitive<(b: Builder, x: TensorLike, dy: TensorLike, attrs: NormAttrs) => Node, NormAttrs> = {
  kind: "primitive",
  doc: "the closed-form derivative of layerNormalize: rstd·(dy − mean(dy) − x̂·mean(dy ⊙ x̂)) per row",
  call: (b, x, dy, { dims, eps }) => b.apply("layerNormalizeGrad", [b.lift(x, "layerNormalizeGrad", "x"), b.lift(dy, "layerNormalizeGrad", "dy")], { dims, eps }),
  dtype: sameDtype("layerNormalizeGrad", ["x", "dy"]),
  shape: ([s]) => [...s!],
  eval: ([x, g], [s], { dims, eps }) => {
    const n = size(s!.slice(s!.length - dims));
    const res = new Float64Array(x!.length);
    for (let r = 0; r < x!.length / n; r++) {
      const { mean, rstd } = evalRowStats(x!, r, n, eps);
      let sg = 0;
      let sgx = 0;
      for (let k = 0; k < n; k++) {
        sg += g![r * n + k]!;
        sgx += g![r * n + k]! * (x![r * n + k]! - mean) * rstd;
      }
      for (let k = 0; k < n; k++) res[r * n + k] = rstd * (g![r * n + k]! - sg / n - (x![r * n + k]! - mean) * rstd * (sgx / n));
    }
    return res;
  },
  vjp: ({ inputs: [x, g], dy: u, attrs }, b) => {
    // dx = J·g with J = ∂x̂/∂x, symmetric: ∂⟨u, dx⟩/∂g = J·u, the same kernel. Through x (second
    // derivatives, g.grad): with r = rstd, A = ⟨u, g⟩, U = Σu, B = ⟨u, x̂⟩, ḡ = mean(g), m = mean(g ⊙ x̂),
    // ∂⟨u, dx⟩/∂x = −(r²x̂/n)·(A − ḡ·U − m·B) − (r·B/n)·(J·g) − r·m·(J·u), per row
    const axes = x!.shape.map((_, i) => i).slice(x!.shape.length - attrs.dims);
    const n = axes.reduce((p, a) => p * x!.shape[a]!, 1);
    const xh = b.layerNormalize(x!, attrs);
    const xc = b.sub(x!, b.mean(x!, axes, true));
    const r = b.pow(b.add(b.mean(b.square(xc), axes, true), attrs.eps), -0.5);
    const rowSum = (t: Node) => b.sum(t, axes, true);
    const [A, U, B] = [rowSum(b.mul(u, g!)), rowSum(u), rowSum(b.mul(u, xh))];
    const [gbar, m] = [b.mean(g!, axes, true), b.mean(b.mul(g!, xh), axes, true)];
    const first = b.mul(b.mul(b.square(r), xh), b.mul(b.sub(b.sub(A, b.mul(gbar, U)), b.mul(m, B)), -1 / n));
    const second = b.mul(b.mul(r, B), b.mul(b.layerNormalizeGrad(x!, g!, attrs), -1 / n));
    const third = b.mul(b.mul(r, m), b.neg(b.layerNormalizeGrad(x!, u, attrs)));
    return [b.add(b.add(first, second), third), b.layerNormalizeGrad(x!, u, attrs)];
  },
  math: ([x, dy], { dims }) => `rstd·(${dy} − mean(${dy}) − x̂·mean(${dy} ⊙ x̂)), x̂ = layerNormalize(${x}) over the last ${dims} ax${dims === 1 ? "is" : "es"} (closed form)`,
  torch: ([x, dy], { dims, eps }, { ins: [s] }) => `_normalize_grad(${x}, ${dy}, (${s!.map((_, i) => i).slice(s!.length - dims).map((i) => `${i},`).join(" ")}), ${eps})`,
  lower: {
    kind: "kernel",
    emit: (w, out, [x, g], { dims, eps }) =>
      rowKernel(w, x!.shape, dims, (each, n) => {
        const { mean, rstd } = rowStats(w, x!, each, n, eps);
        const [sg, sgx] = [w.local("sg"), w.local("sgx")];
        w.line(`let ${sg} = 0;`);
        w.line(`let ${sgx} = 0;`);
        each((vars) => {
          w.line(`${sg} += ${read(g!, vars)};`);
          w.line(`${sgx} += ${read(g!, vars)} * (${read(x!, vars)} - ${mean}) * ${rstd};`);
        });
        // dx = rstd·(dy − Σdy/n − x̂·Σ(dy·x̂)/n)
        each((vars) => w.line(`${at(out, vars)} = ${rstd} * (${read(g!, vars)} - ${sg} / ${n} - (${read(x!, vars)} - ${mean}) * ${rstd} * (${sgx} / ${n}));`));
      }),
  },
};
