import { sameDtype } from "./family.js";
import { FlatgradError, fmtShape, fmtValue, rowMajorStrides, size } from "../ir/shape.js";
import { isContiguous } from "../lower/view.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

export const reshape: Primitive<(b: Builder, x: TensorLike, shape: number[]) => Node, { shape: number[] }> = {
  kind: "primitive",
  doc: "the same elements in row-major order, with a new shape (one axis may be -1: inferred)",
  call: (b, x, shape) => {
    const xn = b.lift(x, "reshape", "x");
    const n = size(xn.shape);
    const head = `reshape: x is ${fmtShape(xn.shape)} (${n} element${n === 1 ? "" : "s"}) but the new shape`;
    const err = (why: string) => new FlatgradError(`${head} ${why}`, undefined, "FG152");
    if (!Array.isArray(shape)) throw err(`must be an array of positive integers (one may be -1), got ${fmtValue(shape)}`);
    const bad = (shape as unknown[]).findIndex((d) => typeof d !== "number" || !Number.isInteger(d) || (d < 1 && d !== -1));
    if (bad >= 0) throw err(`${fmtValue(shape)} has an invalid dimension ${fmtValue(shape[bad])} at axis ${bad}: dimensions are positive integers, or one -1 to infer`);
    const free = shape.filter((d) => d === -1).length;
    if (free > 1) throw err(`${fmtValue(shape)} has ${free} dimensions of -1: at most one can be inferred`);
    const known = shape.filter((d) => d !== -1).reduce((a: number, d) => a * d, 1);
    if (free === 1 && n % known !== 0) throw err(`${fmtValue(shape)} cannot be completed: ${n} is not a multiple of ${known}, so -1 has no integer size`);
    const target = free === 1 ? shape.map((d) => (d === -1 ? n / known : d)) : [...shape];
    return b.apply("reshape", [xn], { shape: target });
  },
  dtype: sameDtype("reshape", ["x"]),
  shape: ([s], { shape: t }) => {
    if (!t.every((d) => Number.isInteger(d) && d >= 1))
      throw new FlatgradError(`reshape: x is ${fmtShape(s!)} but the new shape ${fmtValue(t)} has an invalid dimension (positive integers, or one -1 that divides the size)`, undefined, "FG152");
    if (size(t) !== size(s!))
      throw new FlatgradError(`reshape: x is ${fmtShape(s!)} (${size(s!)} elements) but the new shape ${fmtShape(t)} has ${size(t)} elements`, undefined, "FG152");
    return [...t];
  },
  eval: ([x]) => Float64Array.from(x!),
  // d reshape(x) = reshape(dy) back to x's shape
  vjp: ({ inputs: [x], dy }, b) => [b.reshape(dy, [...x!.shape])],
  math: ([x], { shape }) => `reshape(${x}, ${fmtShape(shape)})`,
  torch: ([x], { shape }) => `${x}.reshape(${shape.join(", ") || "()"})`,
  onnx: (o, [x], { shape }) => o.node("Reshape", [x!, o.ints(shape)]),
  lower: {
    kind: "view",
    view: (v, _attrs, out) => (isContiguous(v) ? { ...v, shape: [...out], strides: rowMajorStrides(out) } : null),
  },
};
