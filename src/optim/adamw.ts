/**
 * AdamW, as torch.optim.AdamW: Adam's update (adam.ts) with decoupled weight decay,
 *   θ ← θ·(1 − η·λ)   before the Adam step, and λ not added to the gradient (default λ = 0.01).
 */
import type { AdamWConfig } from "../dsl/define.js";
import { adamFields, checkBetas, emitAdam } from "./adam.js";
import type { OptimizerDef } from "./types.js";

export const adamw: OptimizerDef<AdamWConfig> = {
  torch: "torch.optim.AdamW",
  fields: adamFields,
  defaults: { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 },
  check: checkBetas,
  state: () => ["exp_avg", "exp_avg_sq"],
  usesStep: true,
  emit: (ctx, cfg) => emitAdam(ctx, cfg, true),
};
