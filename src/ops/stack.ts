/** stack(xs, axis): equal-shaped operands along a new axis (NumPy's stack): concat of size-1 views. */
import { FlatgradError, fmtShape, normAxis, sameShape } from "../ir/shape.js";
import { operandList } from "./concat.js";
import type { Builder, Composite, Node, TensorLike } from "./types.js";

export const stack: Composite<(b: Builder, xs: TensorLike[], axis?: number) => Node> = {
  kind: "composite",
  doc: "equal-shaped operands joined along a new axis (negative axes count from the end of the result)",
  call: (b, xs, axis = 0) => {
    const ns = operandList(b, "stack", xs);
    const s = ns[0]!.shape;
    const bad = ns.find((n) => !sameShape(n.shape, s));
    if (bad) throw new FlatgradError(`stack: xs are ${ns.map((n) => fmtShape(n.shape)).join(", ")}: stacked tensors must all have the same shape`, undefined, "FG222");
    const a = normAxis("stack", axis, s.length + 1, s, "xs[0]"); // an axis of the result, rank + 1
    // a new size-1 axis is a reshape (a view); concat then joins along it
    const parts = ns.map((n) => b.reshape(n, [...s.slice(0, a), 1, ...s.slice(a)]));
    return parts.length === 1 ? parts[0]! : b.concat(parts, a);
  },
};
