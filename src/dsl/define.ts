import type { Node } from "../ir/graph.js";
import type { FloatDType } from "../ir/graph.js";
import type { Builder } from "./builder.js";
import type { Site } from "../ir/shape.js";
import { callSite } from "./callsite.js";

export const MODEL = Symbol.for("flatgrad.model");

/** Fields every optimizer accepts. */
interface OptimizerCommon {
  /** Learning rate η (a step may override it: `model.step(inputs, { lr })`). */
  lr?: number;
  /** Clip the global L2 norm of all gradients to this value before the update (torch.nn.utils.clip_grad_norm_). */
  clipGradNorm?: number;
}
/**
 * SGD's fields that another optimizer does not have, declared `never` there, so that every
 * member of OptimizerConfig has the keys momentum, nesterov and weightDecay (code that reads
 * `cfg.momentum` of any config type-checks, and is undefined where it does not apply).
 */
interface NoSgdFields {
  momentum?: never;
  nesterov?: never;
}
/** torch.optim.SGD (dampening 0): defaults lr 0.01, momentum 0, nesterov false, weightDecay 0 (L2, added to the gradient). */
export interface SgdConfig extends OptimizerCommon {
  type: "sgd";
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
}
/** torch.optim.Adam: defaults lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-8, weightDecay 0 (L2, added to the gradient). */
export interface AdamConfig extends OptimizerCommon, NoSgdFields {
  type: "adam";
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}
/** torch.optim.AdamW: as Adam, but weight decay is decoupled (θ ← θ·(1 − η·λ)); default weightDecay 0.01. */
export interface AdamWConfig extends OptimizerCommon, NoSgdFields {
  type: "adamw";
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}
/** torch.optim.RMSprop: defaults lr 1e-2, alpha 0.99, eps 1e-8, momentum 0, weightDecay 0, centered false. */
export interface RmspropConfig extends OptimizerCommon, Pick<NoSgdFields, "nesterov"> {
  type: "rmsprop";
  alpha?: number;
  eps?: number;
  momentum?: number;
  weightDecay?: number;
  centered?: boolean;
}
export type OptimizerConfig = SgdConfig | AdamConfig | AdamWConfig | RmspropConfig;

export interface ModelDefinition {
  /** Element type of every tensor (default "float32"). */
  dtype?: FloatDType;
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
