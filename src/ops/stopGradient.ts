import { sameDtype } from "./family.js";
import type { Builder, NoAttrs, Node, Primitive, TensorLike } from "./types.js";

/** Identity forward, no gradient backward (the max shift of a stable softmax, whose true gradient is 0). */
export const stopGradient: Primitive<(b: Builder, x: TensorLike) => Node, NoAttrs> = {
  kind: "primitive",
  doc: "x, with no gradient flowing back through it",
  call: (b, x) => b.apply("stopGradient", [b.lift(x, "stopGradient", "x")]),
  dtype: sameDtype("stopGradient", ["x"]),
  shape: ([s]) => [...s!],
  eval: ([x]) => Float64Array.from(x!),
  // no gradient, by definition
  vjp: () => [null],
  math: ([x]) => `stop(${x})`,
  torch: ([x]) => `${x}.detach()`,
  onnx: (o, [x]) => o.node("Identity", [x!]),
  lower: { kind: "view", view: (v) => v },
};
