/**
 * maxPool2dIndex(x, window): x [..., H, W] → argmax int32 [..., OH, OW], the position h·W + w in its
 * plane of each window's FIRST maximum in row-major window order (ties to the first, as PyTorch's
 * max_pool2d indices). What training's maxPool2d records: Y = X[argmax] (maxPool2dGather) and
 * dX[argmax] += dY (maxPool2dGrad). Trap: `v > best` (not ≥) keeps the first of equal maxima.
 */
import { size, type Shape } from "../ir/shape.js";
import { intOperandError } from "./family.js";
import { at } from "../lower/view.js";
import { planPool } from "../wasm/pool.js";
import { eachWindow, emitWindows, fmtPool, pooledShape, torchPool, type PoolAttrs } from "./poolWindows.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

/** The plain loops: for each window, the plane position h·W + w of its first maximum (a NaN counts as the maximum). */
export function firstMaximum(x: Float64Array, s: Shape, a: PoolAttrs): Float64Array {
  const W = s[s.length - 1]!;
  const HW = s[s.length - 2]! * W;
  const res = new Float64Array(size(pooledShape(s, a)));
  eachWindow(s, a, (p, o, h0, h1, w0, w1) => {
    let where = h0 * W + w0;
    let best = x[p * HW + where]!;
    for (let h = h0; h < h1; h++)
      for (let c = w0; c < w1; c++) {
        const v = x[p * HW + h * W + c]!;
        if (v > best || (Number.isNaN(v) && !Number.isNaN(best))) [best, where] = [v, h * W + c];
      }
    res[o] = where;
  });
  return res;
}

export const maxPool2dIndex: Primitive<(b: Builder, x: TensorLike, attrs: PoolAttrs) => Node, PoolAttrs> = {
  kind: "primitive",
  doc: "the plane position (int32) of each pooling window's first maximum, as max_pool2d's indices",
  call: (b, x, attrs) => b.apply("maxPool2dIndex", [b.lift(x, "maxPool2dIndex", "x")], { kernel: attrs.kernel, stride: attrs.stride, padding: attrs.padding }),
  dtype: ([x]) => {
    if (x === "int32") throw intOperandError("maxPool2dIndex", "x");
    return "int32";
  },
  shape: ([s], attrs) => pooledShape(s!, attrs),
  eval: ([x], [s], attrs) => firstMaximum(x!, s!, attrs),
  // an index is piecewise constant: no gradient
  vjp: () => [null],
  math: ([x], attrs) => `argmax of maxpool(${x}, ${fmtPool(attrs)})`,
  torch: ([x], attrs) => `torch.nn.functional.max_pool2d(${x}, ${torchPool(attrs)}, return_indices=True)[1].to(torch.int32)`,
  lower: {
    kind: "kernel",
    // 2×2 windows at stride 2 (float32): four windows per f32x4 vector in WebAssembly (src/wasm/pool.ts)
    simd: ([x], attrs) => planPool(x!, attrs),
    emit: (w, out, [x], attrs) => {
      const W = x!.shape[x!.shape.length - 1]!;
      const [best, where, v] = [w.local("best"), w.local("where"), w.local("v")];
      w.line("// argmax: each window's first maximum in row-major window order (strictly greater moves it), h·W + w in its plane");
      emitWindows(w, x!, out.shape, attrs, (win) => {
        w.line(`let ${best} = ${win.first};`);
        w.line(`let ${where} = ${win.h0} * ${W} + ${win.w0};`);
        w.line(`let ${v}: number;`);
        win.cells((cell, pos) => {
          w.line(`${v} = ${cell}!;`);
          w.block(`if (${v} > ${best} || (${v} !== ${v} && ${best} === ${best}))`, () => {
            w.line(`${best} = ${v};`);
            w.line(`${where} = ${pos};`);
          });
        }, true);
        w.line(`${at(out, [...win.lead, win.oh, win.ow])} = ${where};`);
      });
    },
  },
};
