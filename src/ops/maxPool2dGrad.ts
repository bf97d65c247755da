/**
 * maxPool2dGrad(dY, argmax, shape): the gradient of max pooling, dY [..., OH, OW] and argmax int32
 * [..., OH, OW] (each window's first maximum, h·W + w in its plane) → dX shaped like X [..., H, W]:
 *
 *   dX = 0;  dX[argmax] += dY
 *
 * Where windows overlap (stride < kernel) one cell can be the maximum of several windows: their
 * gradients add. The adjoint of maxPool2dGather; its own adjoint is the gather, Y = X[argmax].
 */
import { FlatgradError, fmtShape, size } from "../ir/shape.js";
import { affine, contiguous, read } from "../lower/view.js";
import { planPoolScatter } from "../wasm/pool.js";
import { liftIndices } from "./indices.js";
import { planeIndex } from "./poolWindows.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

export const maxPool2dGrad: Primitive<(b: Builder, dy: TensorLike, argmax: TensorLike, attrs: { shape: number[] }) => Node, { shape: number[] }> = {
  kind: "primitive",
  doc: "dX of max pooling: zeros shaped like X, then dX[argmax] += dY (overlapping windows add)",
  intOperands: ["argmax"],
  call: (b, dy, argmax, { shape }) =>
    b.apply("maxPool2dGrad", [b.lift(dy, "maxPool2dGrad", "dy"), liftIndices(b, argmax, "maxPool2dGrad", "argmax")], { shape: [...shape] }),
  dtype: ([dy, argmax]) => {
    if (argmax !== "int32" || dy === "int32") throw new Error(`internal: maxPool2dGrad of a ${dy} dy at ${argmax} positions`);
    return dy!;
  },
  shape: ([s, t], { shape }) => {
    const r = shape.length;
    if (r < 2 || s!.length !== r || t!.length !== r || s!.some((d, i) => d !== t![i] || (i < r - 2 && d !== shape[i])))
      throw new FlatgradError(`maxPool2dGrad: dy is ${fmtShape(s!)} and argmax is ${fmtShape(t!)} but x is ${fmtShape(shape)}: dy and argmax must be [...lead, OH, OW] with x's lead axes`, undefined, "FG175");
    return [...shape];
  },
  indexRange: (_ins, { shape }) => [undefined, { low: 0, high: shape[shape.length - 2]! * shape[shape.length - 1]! }],
  eval: ([dy, argmax], [s], { shape }) => {
    const HW = shape[shape.length - 2]! * shape[shape.length - 1]!;
    const per = s![s!.length - 2]! * s![s!.length - 1]!;
    const res = new Float64Array(size(shape));
    dy!.forEach((g, o) => {
      const j = Math.floor(o / per) * HW + argmax![o]!;
      res[j] = res[j]! + g;
    });
    return res;
  },
  // linear in dy, and its adjoint is the gather
  vjp: ({ inputs: [, argmax], dy }, b) => [b.apply("maxPool2dGather", [dy, argmax!]), null],
  math: ([dy, argmax]) => `maxpool_transpose(${dy} at ${argmax})`,
  torch: ([dy, argmax], { shape }, { dtype }) =>
    `torch.zeros(${[...shape.slice(0, -2), shape[shape.length - 2]! * shape[shape.length - 1]!].join(", ")}, dtype=${dtype}).scatter_add(-1, ${argmax}.flatten(-2).long(), ${dy}.flatten(-2)).reshape(${shape.join(", ")})`,
  lower: {
    kind: "kernel",
    // float32: in WebAssembly (src/wasm/pool.ts), 2×2 windows whole, any other window as zeros then the scatter
    simd: ([dy, argmax], { shape }, [, index]) => planPoolScatter(dy!, argmax!, shape, index!),
    emit: (w, out, [dy, argmax], { shape }) => {
      const i = w.local("i");
      w.loop(i, size(shape), () => w.line(`${out.base}[${affine(out.offset, [i], [1])}] = 0;`));
      const vars = dy!.shape.map((_, d) => w.local(`i${d}`));
      const lead = vars.slice(0, -2);
      const dx = contiguous(out.base, shape, out.offset);
      w.line("// dX[argmax] += dY: a cell that is the maximum of several overlapping windows gets each one's gradient");
      const nest = (d: number): void =>
        d < vars.length ? w.loop(vars[d]!, dy!.shape[d]!, () => nest(d + 1)) : w.line(`${out.base}[${planeIndex(dx, lead, read(argmax!, vars))}]! += ${read(dy!, vars)};`);
      nest(0);
    },
  },
};
