import { FlatgradError, fmtShape, sameShape } from "../ir/shape.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

/**
 * The value of a tensor that training and eval compute differently: dropout's mask or the
 * identity, batch statistics or running ones. One graph holds both; each entry point is
 * specialised to its mode before it is lowered or interpreted (src/ir/modes.ts), so a kernel
 * never tests the mode. Unspecialised, a graph reads as in training.
 */
export const byMode: Primitive<(b: Builder, train: TensorLike, evalValue: TensorLike) => Node> = {
  kind: "primitive",
  doc: "training ? train : eval (resolved per entry point, never at run time)",
  call: (b, t, e) => b.apply("byMode", [b.lift(t, "byMode", "train"), b.lift(e, "byMode", "eval")]),
  shape: ([t, e]) => {
    if (!sameShape(t!, e!)) throw new FlatgradError(`byMode: train is ${fmtShape(t!)} but eval is ${fmtShape(e!)}: both modes must give the same shape`, undefined, "FG149");
    return [...t!];
  },
  eval: ([t]) => Float64Array.from(t!),
  // gradients are taken in training, where the value is `train`; eval's branch gets none
  vjp: ({ dy }) => [dy, null],
  math: ([t, e]) => `training ? ${t} : ${e}`,
  modeBranch: { train: 0, eval: 1 },
  // never lowered: every entry point is specialised to its mode first
  torch: ([train, evalValue]) => `(${train} if self.training else ${evalValue})`,
  lower: { kind: "view", view: (v) => v },
};
