/**
 * maxPool2dGather(x, argmax): x [..., H, W], argmax int32 [..., OH, OW] (positions h·W + w in each
 * plane) → Y [..., OH, OW], Y[o] = X[argmax[o]] in o's plane: training's max pooling, Y = X[argmax],
 * reading the index maxPool2dIndex recorded. Its adjoint is maxPool2dGrad, dX[argmax] += dY.
 */
import { FlatgradError, fmtShape, size } from "../ir/shape.js";
import { at, read } from "../lower/view.js";
import { planPoolGather } from "../wasm/pool.js";
import { liftIndices } from "./indices.js";
import { planeIndex } from "./poolWindows.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

export const maxPool2dGather: Primitive<(b: Builder, x: TensorLike, argmax: TensorLike) => Node> = {
  kind: "primitive",
  doc: "Y = X[argmax]: each pooled position's value read at its int32 plane position h·W + w",
  intOperands: ["argmax"],
  call: (b, x, argmax) => b.apply("maxPool2dGather", [b.lift(x, "maxPool2dGather", "x"), liftIndices(b, argmax, "maxPool2dGather", "argmax")]),
  dtype: ([x, argmax]) => {
    if (argmax !== "int32" || x === "int32") throw new Error(`internal: maxPool2dGather of a ${x} x at ${argmax} positions`);
    return x!;
  },
  shape: ([s, t]) => {
    if (s!.length < 2 || t!.length !== s!.length || t!.some((d, i) => i < s!.length - 2 && d !== s![i]))
      throw new FlatgradError(`maxPool2dGather: x is ${fmtShape(s!)} but argmax is ${fmtShape(t!)}: argmax must be [...lead, OH, OW] with x's lead axes`, undefined, "FG175");
    return [...t!];
  },
  indexRange: ([s]) => [undefined, { low: 0, high: s![s!.length - 2]! * s![s!.length - 1]! }],
  eval: ([x, argmax], [s, t]) => {
    const HW = s![s!.length - 2]! * s![s!.length - 1]!;
    const per = t![t!.length - 2]! * t![t!.length - 1]!;
    return Float64Array.from({ length: size(t!) }, (_, o) => x![Math.floor(o / per) * HW + argmax![o]!]!);
  },
  // linear in x; the index has no gradient
  vjp: ({ inputs: [x, argmax], dy }, b) => [b.apply("maxPool2dGrad", [dy, argmax!], { shape: [...x!.shape] }), null],
  math: ([x, argmax]) => `${x}[${argmax}]`,
  torch: ([x, argmax], _a, { out }) => `torch.gather(${x}.flatten(-2), -1, ${argmax}.flatten(-2).long()).reshape(${out.join(", ")})`,
  lower: {
    kind: "kernel",
    // float32: in WebAssembly (src/wasm/pool.ts); X's own 2×2 argmax: its windows' maxima again, four at a time
    simd: ([x, argmax], _attrs, operands) => planPoolGather(x!, argmax!, operands),
    emit: (w, out, [x, argmax]) => {
      const vars = out.shape.map((_, i) => w.local(`i${i}`));
      const lead = vars.slice(0, -2);
      const nest = (d: number): void =>
        d < vars.length ? w.loop(vars[d]!, out.shape[d]!, () => nest(d + 1)) : w.line(`${at(out, vars)} = ${x!.base}[${planeIndex(x!, lead, read(argmax!, vars))}]!;`);
      nest(0);
    },
  },
};
