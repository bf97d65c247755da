/**
 * The training step after the backward pass, emitted as flat loops: gradient clipping (any
 * optimizer) as torch.nn.utils.clip_grad_norm_, the step count, then the optimizer's own update
 * (one file per optimizer: sgd.ts, adam.ts, adamw.ts, rmsprop.ts; the table is index.ts).
 */
import type { OptimizerConfig } from "../dsl/define.js";
import type { KernelWriter } from "../lower/view.js";
import { optimizerOf } from "./index.js";
import type { UpdateContext, UpdateTarget } from "./types.js";
import { lit } from "./types.js";

export type { UpdateContext, UpdateTarget } from "./types.js";

/** State buffers an optimizer keeps per parameter, by torch's state names (in arena and checkpoint order). */
export const stateRoles = (cfg: OptimizerConfig): string[] => optimizerOf(cfg).state(cfg);

/** clip_grad_norm_: coefficient max / (‖g‖₂ + 1e-6) over all gradients together, applied when below 1. */
export function emitClip({ w, targets, local }: Pick<UpdateContext, "w" | "targets" | "local">, maxNorm: number): void {
  const [i, sq, coef] = [local("i"), local("sq"), local("coef")];
  w.line(`// clip_grad_norm: g ← g · min(1, ${lit(maxNorm)} / (‖g‖₂ + 1e-6)) over all gradients together`);
  w.line(`let ${sq} = 0;`);
  for (const t of targets) w.loop(i, t.size, () => w.line(`${sq} += ${t.grad}[${i}]! * ${t.grad}[${i}]!;`));
  w.line(`const ${coef} = ${lit(maxNorm)} / (Math.sqrt(${sq}) + 1e-6);`);
  w.block(`if (${coef} < 1)`, () => {
    for (const t of targets) w.loop(i, t.size, () => w.line(`${t.grad}[${i}]! *= ${coef};`));
  });
}

/**
 * Everything `step` does after `lossAndGrad`: clip, count the step (`counter` is the 1-value
 * buffer in the arena that holds it), update.
 */
export function emitUpdate(ctx: Omit<UpdateContext, "t"> & { counter: string }, cfg: OptimizerConfig): void {
  const def = optimizerOf(cfg);
  const { w, counter } = ctx;
  if (cfg.clipGradNorm !== undefined) emitClip(ctx, cfg.clipGradNorm);
  w.line(`// ${cfg.type} update, as ${def.torch}`);
  w.line(`${counter}[0] = ${counter}[0]! + 1; // the step count t, kept in the arena so checkpoints carry it`);
  const t = def.usesStep ? ctx.local("t") : "";
  if (def.usesStep) w.line(`const ${t} = ${counter}[0]!;`);
  def.emit({ ...ctx, t }, cfg);
}
