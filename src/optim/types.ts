/** What an optimizer is to the compiler: its fields, defaults, state and emitted update. */
import type { KernelWriter } from "../lower/view.js";

/** One parameter the update writes. */
export interface UpdateTarget {
  /** The param's name in the model file (the key of its checkpoint tensors). */
  name: string;
  /** Buffer names (identifiers in the generated module) of the param and its gradient. */
  param: string;
  grad: string;
  size: number;
  /** Buffer names of this param's optimizer state, by role (torch's state names: exp_avg, momentum_buffer, ...). */
  state: Record<string, string>;
}

/** What an optimizer's emitter gets: the writer, the params, and safe local names. */
export interface UpdateContext {
  w: KernelWriter;
  targets: UpdateTarget[];
  /** The local holding this step's learning rate η. */
  lr: string;
  /** The local holding this step's count t (1 on the first step after creation or resetOptimizer). */
  t: string;
  /**
   * Wrap the value of a state or param element computed in doubles, so that what the rest of
   * the loop reads is what the arena stores: `Math.fround(…)` in float32 (as a float32 torch
   * tensor rounds after every in-place op), the expression itself in float64.
   */
  store(expr: string): string;
  /** A local name for `preferred` that no buffer uses (the same name for the same `preferred`). */
  local(preferred: string): string;
}

export type FieldType = "number" | "boolean";

export interface OptimizerDef<C> {
  /** The torch.optim class whose semantics this follows. */
  torch: string;
  /** The config fields besides `type`, in the order error messages list them. */
  fields: Record<string, FieldType>;
  /** Defaults of the fields (clipGradNorm has none: no clipping). */
  defaults: Record<string, number | boolean>;
  /** A constraint between or on field values beyond "finite number ≥ 0": the offending field and why. */
  check?(cfg: C): { field: string; message: string } | undefined;
  /** State buffers per param, by torch's state name, for this config (in arena and checkpoint order). */
  state(cfg: C): string[];
  /** Whether the update reads the step count t (for bias correction). */
  usesStep: boolean;
  /** Emit the update of every target, after the gradients (clipped, if configured) are in place. */
  emit(ctx: UpdateContext, cfg: C): void;
}

/** A number as a literal of generated code. */
export const lit = (x: number): string => (Object.is(x, -0) ? "0" : String(x));
