/**
 * log Σ exp(x) along one axis (kept, size 1), as torch.logsumexp: one kernel (the maximum, then the
 * shifted sum), and a derivative that is softmax(x) itself. softmax and logSoftmax are not built on
 * it: in a training step that needs both the loss and softmax(x) it would take every exp twice (the
 * bench measured 6 % of W2's step), where exp(x − max)/Σ shares one exp per element.
 */
import { normAxis, rowMajorStrides, size } from "../ir/shape.js";
import { affine, read } from "../lower/view.js";
import { sameDtype } from "./family.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

export const logSumExp: Primitive<(b: Builder, x: TensorLike, axis?: number) => Node, { axis: number }> = {
  kind: "primitive",
  doc: "log Σ exp(x) along an axis (kept with size 1), computed as m + log Σ exp(x − m), m the maximum",
  call: (b, x, axis = -1) => {
    const xn = b.lift(x, "logSumExp", "x");
    return b.apply("logSumExp", [xn], { axis: normAxis("logSumExp", axis, xn.shape.length, xn.shape) });
  },
  dtype: sameDtype("logSumExp", ["x"]),
  shape: ([s], { axis }) => s!.map((d, i) => (i === axis ? 1 : d)),
  eval: ([x], [s], { axis }, out) => {
    const n = s![axis]!;
    const step = rowMajorStrides(s!)[axis]!;
    const res = new Float64Array(size(out));
    const os = rowMajorStrides(out);
    for (let o = 0; o < res.length; o++) {
      // the first element of this group in x: out's index with the axis at 0
      const base = out.reduce((acc, d, k) => acc + (Math.floor(o / os[k]!) % d) * rowMajorStrides(s!)[k]!, 0);
      let m = -Infinity;
      for (let k = 0; k < n; k++) if (x![base + k * step]! > m) m = x![base + k * step]!;
      let sum = 0;
      for (let k = 0; k < n; k++) sum += Math.exp(x![base + k * step]! - m);
      res[o] = m + Math.log(sum);
    }
    return res;
  },
  // d logSumExp(x) = softmax(x)·dy = exp(x − logSumExp(x))·dy: the forward's softmax, when the model has one, is this node
  vjp: ({ inputs: [x], out, dy }, b) => [b.mul(dy, b.exp(b.sub(x!, out)))],
  math: ([x], { axis }) => `log Σ[axis ${axis}] exp(${x})`,
  torch: ([x], { axis }) => `torch.logsumexp(${x}, dim=${axis}, keepdim=True)`,
  onnx: (o, [x], { axis }) => o.node("ReduceLogSumExp", [x!], { axes: { ints: [axis] }, keepdims: { i: 1 } }),
  lower: {
    kind: "kernel",
    emit: (w, out, [x], { axis }) => {
      const s = x!.shape;
      const vars = s.map((_, d) => (d === axis ? w.local("k") : w.local(`i${d}`)));
      const [m, sum, v] = [w.local("m"), w.local("sum"), w.local("v")];
      const kept = s.map((_, d) => d).filter((d) => d !== axis);
      const nest = (list: number[], body: () => void): void => (list.length ? w.loop(vars[list[0]!]!, s[list[0]!]!, () => nest(list.slice(1), body)) : body());
      nest(kept, () => {
        // the maximum first, so that every exponent is ≤ 0 and exp never overflows (a NaN is skipped
        // here, but its exp makes the sum NaN below, as Math.max would: a comparison is cheaper)
        w.line(`let ${m} = -Infinity;`);
        w.loop(vars[axis]!, s[axis]!, () => {
          w.line(`const ${v} = ${read(x!, vars)};`);
          w.line(`if (${v} > ${m}) ${m} = ${v};`);
        });
        w.line(`let ${sum} = 0;`);
        w.loop(vars[axis]!, s[axis]!, () => w.line(`${sum} += Math.exp(${read(x!, vars)} - ${m});`));
        w.line(`${out.base}[${affine(out.offset, vars.map((v, d) => (d === axis ? "0" : v)), out.strides)}] = ${m} + Math.log(${sum});`);
      });
    },
  },
};
