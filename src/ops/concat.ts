/** concat(xs, axis): the operands one after another along an axis (NumPy's concatenate). */
import { FlatgradError, fmtShape, fmtValue, normAxis, rowMajorStrides, size, type Shape } from "../ir/shape.js";
import { affine, read, type View } from "../lower/view.js";
import { sameDtype } from "./family.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

type ConcatAttrs = { axis: number };

const fail = (op: string, shapes: readonly Shape[], why: string) =>
  new FlatgradError(`${op}: xs are ${shapes.map(fmtShape).join(", ")}: ${why}`, undefined, "FG222");

/** The operands of concat or stack, lifted: a non-empty array of tensors. */
export function operandList(b: Builder, op: string, xs: unknown): Node[] {
  if (!Array.isArray(xs) || xs.length === 0) throw new FlatgradError(`${op}: xs must be a non-empty array of tensors, got ${Array.isArray(xs) ? "[]" : fmtValue(xs)}`, undefined, "FG222");
  return xs.map((x, i) => b.lift(x as TensorLike, op, `xs[${i}]`));
}

/** The output shape, or FG222 naming the first axis where two operands differ. */
export function concatShape(op: string, shapes: readonly Shape[], axis: number): number[] {
  const first = shapes[0]!;
  if (first.length === 0) throw fail(op, shapes, "scalars have no axis to join along");
  for (const s of shapes) {
    if (s.length !== first.length) throw fail(op, shapes, `ranks ${first.length} and ${s.length} differ`);
    const d = s.findIndex((n, i) => i !== axis && n !== first[i]);
    if (d >= 0) throw fail(op, shapes, `sizes ${first[d]} and ${s[d]} differ at axis ${d}, off the axis ${axis} they are joined along`);
  }
  return first.map((n, i) => (i === axis ? shapes.reduce((t, s) => t + s[axis]!, 0) : n));
}

export const concat: Primitive<(b: Builder, xs: TensorLike[], axis?: number) => Node, ConcatAttrs> = {
  kind: "primitive",
  doc: "the operands joined along an axis; every other axis the same size (negative axes count from the end)",
  call: (b, xs, axis = 0) => {
    const ns = operandList(b, "concat", xs);
    const first = ns[0]!.shape;
    if (first.length === 0) throw fail("concat", ns.map((n) => n.shape), "scalars have no axis to join along");
    const a = normAxis("concat", axis, first.length, first, "xs[0]");
    return ns.length === 1 ? ns[0]! : b.apply("concat", ns, { axis: a });
  },
  dtype: (ins) => sameDtype("concat", ins.map((_, i) => `xs[${i}]`))(ins),
  shape: (ins, { axis }) => concatShape("concat", ins, axis),
  eval: (xs, ins, { axis }, out) => {
    const res = new Float64Array(size(out));
    const inner = rowMajorStrides(out)[axis]!;
    const rows = res.length / (out[axis]! * inner);
    let at = 0;
    xs.forEach((x, k) => {
      const n = ins[k]![axis]! * inner;
      for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) res[r * out[axis]! * inner + at * inner + j] = x[r * n + j]!;
      at += ins[k]![axis]!;
    });
    return res;
  },
  // each operand gets its own part of dy back: slices, which are views
  vjp: ({ inputs, dy, attrs: { axis } }, b) => {
    let at = 0;
    return inputs.map((x) => b.slice(dy, axis, at, (at += x.shape[axis]!)));
  },
  math: (xs, { axis }) => `concat[axis ${axis}](${xs.join(", ")})`,
  torch: (xs, { axis }) => `torch.cat([${xs.join(", ")}], dim=${axis})`,
  onnx: (o, xs, { axis }) => o.node("Concat", xs, { axis: { i: axis } }),
  lower: {
    kind: "kernel",
    emit: (w, out, ins, { axis }) => {
      let at = 0;
      for (const x of ins) {
        // the part of out that x fills: out's index map, shifted along the axis, with x's shape
        const part: View = { ...out, shape: x.shape, offset: out.offset + at * out.strides[axis]! };
        const vars = x.shape.map((_, d) => w.local(`i${d}`));
        const nest = (d: number): void => (d < vars.length ? w.loop(vars[d]!, x.shape[d]!, () => nest(d + 1)) : w.line(`${part.base}[${affine(part.offset, vars, part.strides)}] = ${read(x, vars)};`));
        nest(0);
        at += x.shape[axis]!;
      }
    },
  },
};
