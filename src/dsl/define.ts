import type { Node } from "../ir/graph.js";
import type { DType } from "../ir/graph.js";
import type { Builder } from "./builder.js";
import type { Site } from "../ir/shape.js";
import { callSite } from "./callsite.js";

export const MODEL = Symbol.for("flatgrad.model");

export type OptimizerConfig =
  | { type: "sgd"; lr?: number; momentum?: number; nesterov?: boolean; weightDecay?: number; clipGradNorm?: number };

export interface ModelDefinition {
  /** Element type of every tensor (default "float32"). */
  dtype?: DType;
  /** The update `step` applies (default { type: "sgd", lr: 0.01 }). */
  optimizer?: OptimizerConfig;
  /** Declare inputs, params and outputs; return the scalar loss (or nothing, for inference only). */
  build(g: Builder): Node | void;
}

export interface Model extends ModelDefinition {
  readonly [MODEL]: true;
}

/** Where `defineModel(...)` was called: the fallback position of errors in the model's configuration. */
export const DEFINED_AT = Symbol.for("flatgrad.definedAt");

/** A model file's default export. */
export function defineModel(def: ModelDefinition): Model {
  const site = callSite();
  return { ...def, [MODEL]: true, ...(site && { [DEFINED_AT]: site }) };
}

export const definedAt = (m: Model): Site | undefined => (m as unknown as Record<symbol, Site | undefined>)[DEFINED_AT];

export const isModel = (x: unknown): x is Model => typeof x === "object" && x !== null && (x as Record<symbol, unknown>)[MODEL] === true;
