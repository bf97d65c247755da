import { FlatgradError, broadcastShapes, checkShape, fmtShape, sameShape } from "../ir/shape.js";
import { evalElementwise, sameDtype } from "./family.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

export const broadcastTo: Primitive<(b: Builder, x: TensorLike, shape: number[]) => Node, { shape: number[] }> = {
  kind: "primitive",
  doc: "repeat x along new or size-1 axes to the given shape (NumPy broadcasting)",
  call: (b, x, shape) => b.apply("broadcastTo", [b.lift(x, "broadcastTo", "x")], { shape: checkShape("broadcastTo", "the target shape", shape) }),
  dtype: sameDtype("broadcastTo", ["x"]),
  shape: ([s], { shape: t }) => {
    const r = broadcastShapes("broadcastTo", s!, t, ["x", "the target"], "FG146");
    if (!sameShape(r, t)) {
      const why =
        s!.length > t.length
          ? `x has ${s!.length} axes and the target ${t.length}: broadcasting never removes axes`
          : `size 1 at axis ${r.findIndex((d, i) => d !== t[i]) - r.length} of the target cannot grow to ${r.find((d, i) => d !== t[i])}`;
      throw new FlatgradError(`broadcastTo: x is ${fmtShape(s!)} but the target is ${fmtShape(t)}: ${why}`, undefined, "FG146");
    }
    return r;
  },
  eval: (xs, ins, _a, out) => evalElementwise((v) => v, xs, ins, out),
  // d broadcast(x) = Σ of dy over the broadcast axes
  vjp: ({ inputs: [x], dy }, b) => [b.unbroadcast(dy, x!.shape)],
  math: ([x], { shape }) => `broadcast(${x}, ${fmtShape(shape)})`,
  torch: ([x], { shape }) => `${x}.expand(${shape.join(", ") || "()"})`,
  onnx: (o, [x], { shape }) => o.node("Expand", [x!, o.ints(shape)]),
  lower: {
    kind: "view",
    view: (v, _a, out) => {
      const lead = out.length - v.shape.length;
      return { ...v, shape: [...out], strides: out.map((d, i) => (i < lead || v.shape[i - lead] !== d ? 0 : v.strides[i - lead]!)) };
    },
  },
};
