import { FlatgradError, fmtShape, normAxis, rowMajorStrides, size } from "../ir/shape.js";
import { affine, read } from "../lower/view.js";
import { intOperandError } from "./family.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

/**
 * The index of the first maximum along an axis, as an int32 tensor (torch.argmax: the first on
 * ties, and NaN counts as the maximum, as torch's). Trap: `v > best` (not ≥) is what keeps the first of
 * equal maxima; the NaN test beside it takes the first NaN and then no other element.
 */
export const argmax: Primitive<(b: Builder, x: TensorLike, axis?: number) => Node, { axis: number }> = {
  kind: "primitive",
  doc: "index of the first maximum along an axis (int32), as torch.argmax",
  call: (b, x, axis = -1) => {
    const xn = b.lift(x, "argmax", "x");
    if (xn.shape.length === 0) throw new FlatgradError(`argmax: x is ${fmtShape(xn.shape)}: it needs an axis to take the maximum along`, undefined, "FG150");
    return b.apply("argmax", [xn], { axis: normAxis("argmax", axis, xn.shape.length, xn.shape) });
  },
  dtype: ([x]) => {
    if (x === "int32") throw intOperandError("argmax", "x");
    return "int32";
  },
  shape: ([s], { axis }) => s!.filter((_, i) => i !== axis),
  eval: ([x], [s], { axis }, out) => {
    const n = s![axis]!;
    const step = rowMajorStrides(s!)[axis]!;
    const res = new Float64Array(size(out));
    for (let o = 0; o < res.length; o++) {
      // the first element of row o: the outer index times the axis' extent, plus the inner index
      const base = Math.floor(o / step) * step * n + (o % step);
      let best = -Infinity;
      let where = 0;
      for (let k = 0; k < n; k++) {
        const v = x![base + k * step]!;
        if (v > best || (Number.isNaN(v) && !Number.isNaN(best))) [best, where] = [v, k];
      }
      res[o] = where;
    }
    return res;
  },
  // an index is piecewise constant: no gradient
  vjp: () => [null],
  math: ([x], { axis }) => `argmax[axis ${axis}](${x})`,
  torch: ([x], { axis }) => `torch.argmax(${x}, dim=${axis})`,
  onnx: (o, [x], { axis }) => o.node("Cast", [o.node("ArgMax", [x!], { axis: { i: axis }, keepdims: { i: 0 } })], { to: { i: 6 } }),
  lower: {
    kind: "kernel",
    emit: (w, out, [x], { axis }) => {
      const s = x!.shape;
      const vars = s.map((_, i) => w.local(`i${i}`));
      const [best, where, v] = ["best", "where", "v"].map((n) => w.local(n)) as [string, string, string];
      const kept = s.map((_, i) => i).filter((i) => i !== axis);
      const nest = (list: number[], body: () => void): void => {
        if (!list.length) return body();
        const [first, ...rest] = list;
        w.loop(vars[first!]!, s[first!]!, () => nest(rest, body));
      };
      nest(kept, () => {
        w.line(`let ${best} = -Infinity;`);
        w.line(`let ${where} = 0;`);
        w.loop(vars[axis]!, s[axis]!, () => {
          w.line(`const ${v} = ${read(x!, vars)};`);
          w.block(`if (${v} > ${best} || (${v} !== ${v} && ${best} === ${best}))`, () => {
            w.line(`${best} = ${v};`);
            w.line(`${where} = ${vars[axis]};`);
          });
        });
        w.line(`${out.base}[${affine(out.offset, kept.map((i) => vars[i]!), out.strides)}] = ${where};`);
      });
    },
  },
};
