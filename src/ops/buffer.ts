/**
 * A buffer: named state that is not trained (batchNorm's running statistics). It is a source like
 * a param (same inits, the model's dtype, saved in checkpoints) but has no gradient; training may
 * give it a new value with `b.assign(buffer, value)`, written in place after the step's kernels.
 */
import { checkShape } from "../ir/shape.js";
import { checkName } from "../ir/names.js";
import { checkInit, source, type NamedSource, type ParamOptions } from "./sources.js";
import type { Builder, Node, Primitive } from "./types.js";

/** A buffer's options: the inits of params (default "zeros"; `{ init: "ones" }` for a running variance). */
export type BufferOptions = ParamOptions;

export const buffer: Primitive<(b: Builder, name: string, shape: number[], options?: BufferOptions) => Node, NamedSource> = {
  ...source("buffer"),
  doc: "named state of fixed shape that is not trained (running statistics); no gradient",
  dtype: (_ins, _attrs, float) => float,
  // no gradient: a leaf, and the differentiator never asks a buffer for one (its value is not trained)
  vjp: () => [],
  call: (b, name, shape, options) => {
    checkName("buffer", name);
    const s = checkShape("buffer", `shape of "${name}"`, shape);
    return b.declare("buffer", name, b.apply("buffer", [], { name, shape: s }), { ...checkInit("buffer", name, s, options, "zeros") });
  },
};
