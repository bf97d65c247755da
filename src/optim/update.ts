/**
 * The optimizer update, emitted as flat loops after the backward pass. Semantics follow
 * torch.optim.SGD (dampening 0; weight decay added to the gradient) and
 * torch.nn.utils.clip_grad_norm_ (coefficient max / (‖g‖ + 1e-6), applied when below 1).
 */
import type { OptimizerConfig } from "../dsl/define.js";
import type { KernelWriter } from "../lower/view.js";

export interface UpdateTarget {
  param: string;
  grad: string;
  size: number;
  /** Buffer names of this param's optimizer state, by role. */
  state: Record<string, string>;
}

/** State buffers an optimizer keeps per parameter (names are suffixes, roles are keys). */
export function stateRoles(cfg: OptimizerConfig): string[] {
  return cfg.type === "sgd" && (cfg.momentum ?? 0) > 0 ? ["momentum_buffer"] : [];
}

export function emitClip(w: KernelWriter, targets: UpdateTarget[], maxNorm: number): void {
  w.line(`// clip_grad_norm: g ← g · min(1, ${maxNorm} / (‖g‖₂ + 1e-6)) over all gradients together`);
  w.line("let sq = 0;");
  for (const t of targets) w.loop("i", t.size, () => w.line(`sq += ${t.grad}[i]! * ${t.grad}[i]!;`));
  w.line(`const coef = ${maxNorm} / (Math.sqrt(sq) + 1e-6);`);
  w.block("if (coef < 1)", () => {
    for (const t of targets) w.loop("i", t.size, () => w.line(`${t.grad}[i] *= coef;`));
  });
}

export function emitUpdate(w: KernelWriter, cfg: OptimizerConfig, targets: UpdateTarget[]): void {
  const momentum = cfg.momentum ?? 0;
  const wd = cfg.weightDecay ?? 0;
  const grad = (t: UpdateTarget) => (wd ? `${t.grad}[i]! + ${wd} * ${t.param}[i]!` : `${t.grad}[i]!`);
  for (const t of targets) {
    if (momentum === 0) {
      w.line(`// ${t.param} ← ${t.param} − η·${wd ? `(d${t.param} + λ·${t.param})` : t.grad}`);
      w.loop("i", t.size, () => w.line(`${t.param}[i] -= lr * ${wd ? `(${grad(t)})` : grad(t)};`));
    } else {
      const buf = t.state.momentum_buffer!;
      w.line(`// b ← μ·b + g;  ${t.param} ← ${t.param} − η·${cfg.nesterov ? "(g + μ·b)" : "b"}   (μ = ${momentum}${wd ? `, g = d${t.param} + λ·${t.param}` : ""})`);
      w.loop("i", t.size, () => {
        w.line(`const gi = ${grad(t)};`);
        w.line(`const mi = ${momentum} * ${buf}[i]! + gi;`);
        w.line(`${buf}[i] = mi;`);
        w.line(`${t.param}[i] -= lr * ${cfg.nesterov ? `(gi + ${momentum} * mi)` : "mi"};`);
      });
    }
  }
}
