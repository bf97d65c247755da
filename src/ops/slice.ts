/** slice(x, axis, start, end): elements start..end−1 along one axis (NumPy's x[..., start:end]); a view. */
import { FlatgradError, fmtShape, fmtValue, normAxis } from "../ir/shape.js";
import { sameDtype } from "./family.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

type SliceAttrs = { axis: number; start: number; end: number };

export const slice: Primitive<(b: Builder, x: TensorLike, axis: number, start: number, end?: number) => Node, SliceAttrs> = {
  kind: "primitive",
  doc: "elements start..end−1 along one axis (negative indices count from the end, as in NumPy)",
  call: (b, x, axis, start, end) => {
    const xn = b.lift(x, "slice", "x");
    const a = normAxis("slice", axis, xn.shape.length, xn.shape);
    const n = xn.shape[a]!;
    const norm = (v: unknown, what: string) => {
      if (typeof v !== "number" || !Number.isInteger(v)) throw new FlatgradError(`slice: x is ${fmtShape(xn.shape)} but ${what} ${fmtValue(v)} is not an integer`, undefined, "FG154");
      return Math.min(n, Math.max(0, v < 0 ? v + n : v));
    };
    const s = norm(start, "start");
    const e = norm(end ?? n, "end");
    if (e <= s) throw new FlatgradError(`slice: x is ${fmtShape(xn.shape)} but ${start}:${end ?? n} along axis ${a} selects nothing (tensors have no empty axes)`, undefined, "FG154");
    return b.apply("slice", [xn], { axis: a, start: s, end: e });
  },
  dtype: sameDtype("slice", ["x"]),
  shape: ([s], { axis, start, end }) => {
    if (!(axis >= 0 && axis < s!.length && start >= 0 && end > start && end <= s![axis]!))
      throw new FlatgradError(`slice: x is ${fmtShape(s!)} but ${start}:${end} along axis ${axis} is not inside it`, undefined, "FG154");
    return s!.map((d, i) => (i === axis ? end - start : d));
  },
  eval: ([x], [s], { axis, start }, out) => {
    const inner = s!.slice(axis + 1).reduce((p, d) => p * d, 1);
    const res = new Float64Array(out.reduce((p, d) => p * d, 1));
    const rows = res.length / (out[axis]! * inner);
    for (let r = 0; r < rows; r++)
      for (let j = 0; j < out[axis]!; j++)
        for (let k = 0; k < inner; k++) res[(r * out[axis]! + j) * inner + k] = x![(r * s![axis]! + start + j) * inner + k]!;
    return res;
  },
  // the elements not selected get no gradient: dx is dy padded with zeros back to x's shape
  vjp: ({ inputs: [x], dy, attrs: { axis, start, end } }, b) => [b.pad(dy, x!.shape.map((n, i): [number, number] => (i === axis ? [start, n - end] : [0, 0])))],
  math: ([x], { axis, start, end }) => `${x}[axis ${axis}: ${start}..${end - 1}]`,
  torch: ([x], { axis, start, end }) => `${x}.narrow(${axis}, ${start}, ${end - start})`,
  onnx: (o, [x], { axis, start, end }) => o.node("Slice", [x!, o.ints([start]), o.ints([end]), o.ints([axis])]),
  lower: {
    kind: "view",
    view: (v, { axis, start }, out) => ({ ...v, shape: [...out], offset: v.offset + start * v.strides[axis]! }),
  },
};
