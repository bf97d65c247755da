/**
 * avgPool2dGrad(dY, window, shape): the gradient of average pooling, dY [..., OH, OW] → dX shaped like
 * X [..., H, W]:
 *
 *   dX = avgpool_transpose(dY) / count      dX = 0; for each window o: dX[cell] += dY[o]/count[o] on its real cells
 *
 * Overlapping windows (stride < kernel) add; padding cells receive nothing. Linear, and avgPool2d is
 * its adjoint.
 */
import { FlatgradError, fmtShape, sameShape, size } from "../ir/shape.js";
import { affine, contiguous, read } from "../lower/view.js";
import { sameDtype } from "./family.js";
import { countOf, emitInvCount, type AvgPoolAttrs } from "./avgPool2d.js";
import { eachWindow, emitWindows, fmtPool, pooledShape } from "./poolWindows.js";
import type { Builder, Node, Primitive } from "./types.js";

type GradAttrs = AvgPoolAttrs & { shape: number[] };

export const avgPool2dGrad: Primitive<(b: Builder, dy: Node, attrs: GradAttrs) => Node, GradAttrs> = {
  kind: "primitive",
  doc: "dX of average pooling: each window's dY/count added back on its real cells (overlaps add)",
  call: (b, dy, attrs) => b.apply("avgPool2dGrad", [b.lift(dy, "avgPool2dGrad", "dy")], { ...attrs }),
  dtype: sameDtype("avgPool2dGrad", ["dy"]),
  shape: ([s], attrs) => {
    const expected = pooledShape(attrs.shape, attrs);
    if (!sameShape(expected, s!)) throw new FlatgradError(`avgPool2dGrad: dy is ${fmtShape(s!)} but the windows of ${fmtShape(attrs.shape)} are ${fmtShape(expected)}`, undefined, "FG153");
    return [...attrs.shape];
  },
  eval: ([dy], _ins, attrs) => {
    const [H, W] = attrs.shape.slice(-2) as [number, number];
    const res = new Float64Array(size(attrs.shape));
    eachWindow(attrs.shape, attrs, (p, o, h0, h1, w0, w1) => {
      const g = dy![o]! / countOf(attrs, h0, h1, w0, w1);
      for (let h = h0; h < h1; h++) for (let c = w0; c < w1; c++) res[(p * H + h) * W + c] = res[(p * H + h) * W + c]! + g;
    });
    return res;
  },
  // linear in dy; its adjoint is the pooling itself
  vjp: ({ dy, attrs }, b) => [b.apply("avgPool2d", [dy], { kernel: attrs.kernel, stride: attrs.stride, padding: attrs.padding, countIncludePad: attrs.countIncludePad })],
  math: ([dy], attrs) => `avgpool_transpose(${dy}, ${fmtPool(attrs)}) / count${attrs.countIncludePad ? "" : " (real cells)"}`,
  torch: ([dy], attrs, { dtype }) =>
    `torch.ops.aten.avg_pool2d_backward(${dy}, torch.zeros(${attrs.shape.join(", ")}, dtype=${dtype}), [${attrs.kernel.join(", ")}], [${attrs.stride.join(", ")}], [${attrs.padding.join(", ")}], False, ${attrs.countIncludePad ? "True" : "False"}, None)`,
  lower: {
    kind: "kernel",
    emit: (w, out, [dy], attrs) => {
      const i = w.local("i");
      w.loop(i, size(attrs.shape), () => w.line(`${out.base}[${affine(out.offset, [i], [1])}] = 0;`));
      const g = w.local("g");
      w.line("// dX = avgpool_transpose(dY) / count: each window's dY/count added on its real cells (overlaps add)");
      emitWindows(w, contiguous(out.base, attrs.shape, out.offset), dy!.shape, attrs, (win) => {
        w.line(`const ${g} = ${read(dy!, [...win.lead, win.oh, win.ow])} * ${emitInvCount(w, attrs, win)};`);
        win.cells((cell) => w.line(`${cell}! += ${g};`));
      });
    },
  },
};
