/**
 * SGD with momentum, as torch.optim.SGD (dampening 0; weight decay added to the gradient):
 *   g ← ∇θ + λ·θ;   b ← μ·b + g (b starts at 0, so b = g on the first step);
 *   θ ← θ − η·(g + μ·b) with nesterov, θ ← θ − η·b without; θ ← θ − η·g when μ = 0.
 */
import type { SgdConfig } from "../dsl/define.js";
import { lit, type OptimizerDef } from "./types.js";

export const sgd: OptimizerDef<SgdConfig> = {
  torch: "torch.optim.SGD",
  fields: { lr: "number", momentum: "number", nesterov: "boolean", weightDecay: "number", clipGradNorm: "number" },
  defaults: { lr: 0.01, momentum: 0, nesterov: false, weightDecay: 0 },
  check: (cfg) => (cfg.nesterov && !((cfg.momentum ?? 0) > 0) ? { field: "nesterov", message: `sgd.nesterov needs momentum > 0, got momentum ${cfg.momentum ?? 0}` } : undefined),
  state: (cfg) => ((cfg.momentum ?? 0) > 0 ? ["momentum_buffer"] : []),
  usesStep: false,
  emit({ w, targets, store, local, lr }, cfg) {
    const mu = cfg.momentum ?? 0;
    const wd = cfg.weightDecay ?? 0;
    const [i, gi, mi] = [local("i"), local("gi"), local("mi")];
    for (const t of targets) {
      const p = t.param;
      const g = wd ? `${t.grad}[${i}]! + ${lit(wd)} * ${p}[${i}]!` : `${t.grad}[${i}]!`;
      if (mu === 0) {
        w.line(`// ${p} ← ${p} − η·${wd ? `(${t.grad} + λ·${p})   (λ = ${lit(wd)})` : t.grad}`);
        w.loop(i, t.size, () => w.line(`${p}[${i}]! -= ${lr} * ${wd ? `(${g})` : g};`));
        continue;
      }
      const b = t.state.momentum_buffer!;
      w.line(`// g = ${wd ? `${t.grad} + λ·${p}` : t.grad};  ${b} ← μ·${b} + g;  ${p} ← ${p} − η·${cfg.nesterov ? `(g + μ·${b})` : b}   (μ = ${lit(mu)}${wd ? `, λ = ${lit(wd)}` : ""})`);
      w.loop(i, t.size, () => {
        w.line(`const ${gi} = ${g};`);
        w.line(`const ${mi} = ${store(`${lit(mu)} * ${b}[${i}]! + ${gi}`)};`);
        w.line(`${b}[${i}] = ${mi};`);
        w.line(`${p}[${i}]! -= ${lr} * ${cfg.nesterov ? `(${gi} + ${lit(mu)} * ${mi})` : mi};`);
      });
    }
  },
};
