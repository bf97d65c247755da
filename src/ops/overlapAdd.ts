/**
 * overlapAdd(dy, shape, window): the adjoint of `window`. Each window's values are added back at
 * the positions the window read, so where windows overlap (stride < kernel) the contributions sum:
 * dX = Σ over windows of dWindow, the col2im of a convolution's backward.
 */
import { FlatgradError, fmtShape, rowMajorStrides, sameShape, size } from "../ir/shape.js";
import { affine, read } from "../lower/view.js";
import { sameDtype } from "./family.js";
import { windowShape, windowSource, windowStrides, type WindowAttrs } from "./window.js";
import type { Builder, Node, Primitive } from "./types.js";

type OverlapAttrs = WindowAttrs & { shape: number[] };

export const overlapAdd: Primitive<(b: Builder, dy: Node, attrs: OverlapAttrs) => Node, OverlapAttrs> = {
  kind: "primitive",
  doc: "the adjoint of window: each window added back where it was read (overlaps sum)",
  call: (b, dy, attrs) => b.apply("overlapAdd", [b.lift(dy, "overlapAdd", "dy")], { ...attrs }),
  dtype: sameDtype("overlapAdd", ["dy"]),
  shape: ([s], attrs) => {
    const expected = windowShape("overlapAdd", attrs.shape, attrs);
    if (!sameShape(expected, s!)) throw new FlatgradError(`overlapAdd: dy is ${fmtShape(s!)} but the windows of ${fmtShape(attrs.shape)} are ${fmtShape(expected)}`, undefined, "FG153");
    return [...attrs.shape];
  },
  eval: ([dy], [s], attrs) => {
    const out = new Float64Array(size(attrs.shape));
    const src = windowSource(attrs.shape, s!, attrs);
    for (let i = 0; i < dy!.length; i++) {
      const j = src(i);
      out[j] = out[j]! + dy![i]!;
    }
    return out;
  },
  // linear, and window is its adjoint
  vjp: ({ dy, attrs }, b) => [b.window(dy, attrs.kernel, { stride: attrs.stride, dilation: attrs.dilation })],
  math: ([dy], { kernel }) => `overlap_add(${dy}, ${kernel.join("×")})`,
  torch: ([dy], attrs, { ins: [s], dtype }) =>
    `torch.zeros(${size(attrs.shape)}, dtype=${dtype}).index_add(0, torch.arange(${size(attrs.shape)}).as_strided((${s!.join(", ")},), (${windowStrides(rowMajorStrides(attrs.shape), attrs).join(", ")},)).reshape(-1), ${dy}.reshape(-1)).reshape(${attrs.shape.join(", ")})`,
  lower: {
    kind: "kernel",
    emit: (w, out, [dy], attrs) => {
      const i = w.local("i");
      w.loop(i, size(attrs.shape), () => w.line(`${out.base}[${affine(out.offset, [i], [1])}] = 0;`));
      // dy[..., o, k] goes to out[..., o·stride + k·dilation]
      const vars = dy!.shape.map((_, d) => w.local(`i${d}`));
      const steps = windowStrides(rowMajorStrides(attrs.shape), attrs);
      const nest = (d: number): void =>
        d < vars.length ? w.loop(vars[d]!, dy!.shape[d]!, () => nest(d + 1)) : w.line(`${out.base}[${affine(out.offset, vars, steps)}]! += ${read(dy!, vars)};`);
      nest(0);
    },
  },
};
