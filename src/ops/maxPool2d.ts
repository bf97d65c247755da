/**
 * maxPool2d(x, kernel, { stride = kernel, padding = 0 }): `F.max_pool2d` over the last two axes,
 * x [N, C, H, W] or [C, H, W] → Y [..., OH, OW], OH = ⌊(H + 2·ph − kh)/sh⌋ + 1.
 *
 *   Y = maxpool(X)            Y[o] = max over the window of o of X (padding: loop bounds, never a −∞ copy)
 *   training: argmax = maxPool2dIndex(X), Y = X[argmax]      dX[argmax] += dY   (maxPool2dGrad)
 *
 * One graph holds both modes (byMode): eval mode (forward, model.loss) runs this op's own kernel and
 * writes no index; training records each window's first maximum (row-major window order, ties to
 * the first, as PyTorch) in an int32 buffer, gathers Y through it and scatters dY back through it.
 */
import { emitWindows, fmtPool, onnxPool, poolAttrs, pooledShape, torchPool, type PoolAttrs } from "./poolWindows.js";
import { firstMaximum } from "./maxPool2dIndex.js";
import { sameDtype } from "./family.js";
import { at } from "../lower/view.js";
import { planPool } from "../wasm/pool.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

type Options = { stride?: number | number[]; padding?: number | number[] };

export const maxPool2d: Primitive<(b: Builder, x: TensorLike, kernel: number | number[], options?: Options) => Node, PoolAttrs> = {
  kind: "primitive",
  doc: "maximum over each kernel-sized window of the last two axes, as F.max_pool2d (the gradient to the first maximum)",
  call: (b, x, kernel, options) => {
    const xn = b.lift(x, "maxPool2d", "x");
    const attrs = poolAttrs("maxPool2d", xn, kernel, options);
    // training reads Y through the recorded index, which the gradient reuses; eval needs no index
    const argmax = b.role(b.apply("maxPool2dIndex", [xn], attrs), "argmax");
    return b.byMode(b.apply("maxPool2dGather", [xn, argmax]), b.apply("maxPool2d", [xn], attrs));
  },
  dtype: sameDtype("maxPool2d", ["x"]),
  shape: ([s], attrs) => pooledShape(s!, attrs),
  eval: ([x], [s], attrs, out) => {
    const where = firstMaximum(x!, s!, attrs);
    const [H, W] = s!.slice(-2) as [number, number];
    const per = where.length / (x!.length / (H * W));
    return Float64Array.from({ length: where.length }, (_, o) => x![Math.floor(o / per) * H * W + where[o]!]!);
  },
  // outside byMode (a graph built with b.apply): the same index and scatter as training
  vjp: ({ inputs: [x], dy, attrs }, b) => [b.apply("maxPool2dGrad", [dy, b.apply("maxPool2dIndex", [x!], attrs)], { shape: [...x!.shape] })],
  math: ([x], attrs) => `maxpool(${x}, ${fmtPool(attrs)})`,
  torch: ([x], attrs) => `torch.nn.functional.max_pool2d(${x}, ${torchPool(attrs)})`,
  onnx: (o, [x], attrs, { ins: [s] }) => onnxPool(o, "MaxPool", x!, attrs, s!.length),
  lower: {
    kind: "kernel",
    // 2×2 windows at stride 2 (float32): four windows per f32x4 vector in WebAssembly (src/wasm/pool.ts)
    simd: ([x], attrs) => planPool(x!, attrs, "max"),
    emit: (w, out, [x], attrs) => {
      const [best, v] = [w.local("best"), w.local("v")];
      emitWindows(w, x!, out.shape, attrs, (win) => {
        w.line(`let ${best} = ${win.first};`);
        w.line(`let ${v}: number;`);
        win.cells((cell) => {
          w.line(`${v} = ${cell}!;`);
          // NaN wins, as in PyTorch: the first NaN of the window
          w.block(`if (${v} > ${best} || (${v} !== ${v} && ${best} === ${best}))`, () => w.line(`${best} = ${v};`));
        }, true);
        w.line(`${at(out, [...win.lead, win.oh, win.ow])} = ${best};`);
      });
    },
  },
};
