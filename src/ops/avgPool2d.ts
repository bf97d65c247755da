/**
 * avgPool2d(x, kernel, { stride = kernel, padding = 0, countIncludePad = true }): `F.avg_pool2d` over
 * the last two axes, x [N, C, H, W] or [C, H, W] → Y [..., OH, OW]:
 *
 *   Y = avgpool(X)      Y[o] = (Σ over the real cells of o's window of X) / count[o]
 *   dX = avgpool_transpose(dY) / count      (avgPool2dGrad: each window's dY/count added back on its cells)
 *
 * count[o] is kh·kw with countIncludePad (padding counts as zeros; windows never pass the padded
 * input), else the number of real cells of o's window. Padding is the loops' bounds, never a copy.
 */
import { size } from "../ir/shape.js";
import { at, type KernelWriter } from "../lower/view.js";
import { sameDtype } from "./family.js";
import { eachWindow, emitWindows, fmtPool, onnxPool, onnxWindowMean, poolAttrs, pooledShape, span, torchPool, type PoolAttrs, type WindowVars } from "./poolWindows.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

export type AvgPoolAttrs = PoolAttrs & { countIncludePad: boolean };

/** The divisor of a window, as plain numbers (the interpreter) … */
export const countOf = (a: AvgPoolAttrs, h0: number, h1: number, w0: number, w1: number): number => (a.countIncludePad ? a.kernel[0]! * a.kernel[1]! : (h1 - h0) * (w1 - w0));

/** … and as generated code: `1 / count` of window `v`, a literal when every window has the same count. */
export function emitInvCount(w: KernelWriter, a: AvgPoolAttrs, v: WindowVars): string {
  if (a.countIncludePad || a.padding.every((p) => p === 0)) return String(1 / (a.kernel[0]! * a.kernel[1]!));
  const inv = w.local("inv");
  w.line(`const ${inv} = 1 / ((${v.h1} - ${v.h0}) * (${v.w1} - ${v.w0}));`);
  return inv;
}

export const avgPool2d: Primitive<(b: Builder, x: TensorLike, kernel: number | number[], options?: { stride?: number | number[]; padding?: number | number[]; countIncludePad?: boolean }) => Node, AvgPoolAttrs> = {
  kind: "primitive",
  doc: "mean over each kernel-sized window of the last two axes, as F.avg_pool2d",
  call: (b, x, kernel, options) => {
    const xn = b.lift(x, "avgPool2d", "x");
    return b.apply("avgPool2d", [xn], { ...poolAttrs("avgPool2d", xn, kernel, options), countIncludePad: options?.countIncludePad !== false });
  },
  dtype: sameDtype("avgPool2d", ["x"]),
  shape: ([s], attrs) => pooledShape(s!, attrs),
  eval: ([x], [s], attrs, out) => {
    const [H, W] = s!.slice(-2) as [number, number];
    const res = new Float64Array(size(out));
    eachWindow(s!, attrs, (p, o, h0, h1, w0, w1) => {
      let acc = 0;
      for (let h = h0; h < h1; h++) for (let c = w0; c < w1; c++) acc += x![(p * H + h) * W + c]!;
      res[o] = acc / countOf(attrs, h0, h1, w0, w1);
    });
    return res;
  },
  // linear: the adjoint spreads each window's dY/count back over its cells
  vjp: ({ inputs: [x], dy, attrs }, b) => [b.apply("avgPool2dGrad", [dy], { ...attrs, shape: [...x!.shape] })],
  math: ([x], attrs) => `avgpool(${x}, ${fmtPool(attrs)}${attrs.countIncludePad ? "" : ", real cells counted"})`,
  torch: ([x], attrs) => `torch.nn.functional.avg_pool2d(${x}, ${torchPool(attrs)}, count_include_pad=${attrs.countIncludePad ? "True" : "False"})`,
  // onnxruntime has AveragePool for FLOAT only: a float64 model exports the windows' sums scaled by 1/count
  onnx: (o, [x], attrs, { ins: [s] }) =>
    o.floatType === 1
      ? onnxPool(o, "AveragePool", x!, attrs, s!.length, { count_include_pad: { i: attrs.countIncludePad ? 1 : 0 } })
      : onnxWindowMean(o, x!, s!, attrs, (oh, ow) => {
          const [h0, h1] = span(oh, 0, attrs, s![s!.length - 2]!);
          const [w0, w1] = span(ow, 1, attrs, s![s!.length - 1]!);
          return 1 / countOf(attrs, h0, h1, w0, w1);
        }),
  lower: {
    kind: "kernel",
    emit: (w, out, [x], attrs) => {
      const acc = w.local("acc");
      emitWindows(w, x!, out.shape, attrs, (win) => {
        w.line(`let ${acc} = 0;`);
        win.cells((cell) => w.line(`${acc} += ${cell}!;`));
        w.line(`${at(out, [...win.lead, win.oh, win.ow])} = ${acc} * ${emitInvCount(w, attrs, win)};`);
      });
    },
  },
};
