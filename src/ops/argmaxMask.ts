import { normAxes, size, type Shape } from "../ir/shape.js";
import { affine, read } from "../lower/view.js";
import { broadcastIndex, sameDtype } from "./family.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

/** 1 at the first maximum of each group reduced over `axes`, 0 elsewhere: the derivative of max. */
export const argmaxMask: Primitive<(b: Builder, x: TensorLike, axes?: number | number[]) => Node, { axes: number[] }> = {
  kind: "primitive",
  doc: "one-hot of the first maximum over the given axes",
  call: (b, x, axes) => {
    const xn = b.lift(x, "argmaxMask", "x");
    return b.apply("argmaxMask", [xn], { axes: normAxes("argmaxMask", axes, xn.shape) });
  },
  dtype: sameDtype("argmaxMask", ["x"]),
  shape: (ins) => [...ins[0]!],
  eval: (xs, ins, { axes }) => {
    const s = ins[0]!;
    const x = xs[0]!;
    const kept: Shape = s.map((d, i) => (axes.includes(i) ? 1 : d));
    const best = new Float64Array(size(kept)).fill(-Infinity);
    const where = new Int32Array(size(kept)).fill(-1);
    const group = broadcastIndex(kept, s);
    for (let i = 0; i < x.length; i++) {
      const gi = group(i);
      if (where[gi]! < 0 || x[i]! > best[gi]!) {
        best[gi] = x[i]!;
        where[gi] = i;
      }
    }
    const out = new Float64Array(x.length);
    for (const i of where) out[i] = 1;
    return out;
  },
  // piecewise constant: no gradient
  vjp: () => [null],
  math: ([x], { axes }) => `onehot(argmax[axes ${axes.join(",")}](${x}))`,
  lower: {
    kind: "kernel",
    emit: (w, out, [x], { axes }) => {
      const s = x!.shape;
      const vars = s.map((_, i) => w.local(`i${i}`));
      const [best, where, o, v] = ["best", "where", "o", "v"].map((n) => w.local(n)) as [string, string, string, string];
      const keptAxes = s.map((_, i) => i).filter((i) => !axes.includes(i));
      const nest = (list: number[], body: () => void): void => {
        if (!list.length) return body();
        const [first, ...rest] = list;
        w.loop(vars[first!]!, s[first!]!, () => nest(rest, body));
      };
      nest(keptAxes, () => {
        w.line(`let ${best} = -Infinity;`);
        w.line(`let ${where} = -1;`);
        nest(axes, () => {
          w.line(`const ${o} = ${affine(out.offset, vars, out.strides)};`);
          w.line(`const ${v} = ${read(x!, vars)};`);
          w.line(`${out.base}[${o}] = 0;`);
          w.block(`if (${where} < 0 || ${v} > ${best})`, () => {
            w.line(`${best} = ${v};`);
            w.line(`${where} = ${o};`);
          });
        });
        w.line(`${out.base}[${where}] = 1;`);
      });
    },
  },
};
