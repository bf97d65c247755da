import { FlatgradError, fmtShape, rowMajorStrides, size } from "../ir/shape.js";
import { isContiguous } from "../lower/view.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

export const reshape: Primitive<(b: Builder, x: TensorLike, shape: number[]) => Node> = {
  kind: "primitive",
  doc: "the same elements in row-major order, with a new shape (one axis may be -1: inferred)",
  call: (b, x, shape) => {
    const xn = b.lift(x);
    if (!Array.isArray(shape)) throw new FlatgradError(`reshape: the new shape must be an array, got ${String(shape)}`);
    const free = shape.filter((d) => d === -1).length;
    const known = shape.filter((d) => d !== -1).reduce((a: number, d) => a * (d as number), 1);
    let target = [...shape];
    if (free === 1 && Number.isInteger(known) && known > 0 && size(xn.shape) % known === 0) target = shape.map((d) => (d === -1 ? size(xn.shape) / known : d));
    return b.apply("reshape", [xn], { shape: target });
  },
  shape: ([s], attrs) => {
    const t = attrs.shape as number[];
    if (!t.every((d) => Number.isInteger(d) && d >= 1))
      throw new FlatgradError(`reshape: x is ${fmtShape(s!)} but the new shape ${JSON.stringify(t)} has an invalid dimension (positive integers, or one -1 that divides the size)`);
    if (size(t) !== size(s!))
      throw new FlatgradError(`reshape: x is ${fmtShape(s!)} (${size(s!)} elements) but the new shape ${fmtShape(t)} has ${size(t)} elements`);
    return [...t];
  },
  eval: ([x]) => Float64Array.from(x!),
  // d reshape(x) = reshape(dy) back to x's shape
  vjp: (b, n, g) => [b.reshape(g, [...n.inputs[0]!.shape])],
  math: ([x], attrs) => `reshape(${x}, ${fmtShape(attrs.shape as number[])})`,
  lower: {
    kind: "view",
    view: (v, _attrs, out) => (isContiguous(v) ? { ...v, shape: [...out], strides: rowMajorStrides(out) } : null),
  },
};
