/**
 * Adam, as torch.optim.Adam (amsgrad off; weight decay is L2, added to the gradient):
 *   g ← ∇θ + λ·θ;   m ← β1·m + (1 − β1)·g;   v ← β2·v + (1 − β2)·g²;
 *   θ ← θ − η/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε)
 * with the bias corrections grouped as torch groups them (step size η/(1 − β1ᵗ), ε added after
 * dividing √v by √(1 − β2ᵗ)). AdamW (adamw.ts) is the same update with decoupled decay.
 */
import type { AdamConfig, AdamWConfig } from "../dsl/define.js";
import { lit, type OptimizerDef, type UpdateContext } from "./types.js";

export const adamFields = { lr: "number", beta1: "number", beta2: "number", eps: "number", weightDecay: "number", clipGradNorm: "number" } as const;

export function checkBetas(cfg: AdamConfig | AdamWConfig): { field: string; message: string } | undefined {
  for (const k of ["beta1", "beta2"] as const)
    if ((cfg[k] ?? 0) >= 1) return { field: k, message: `${cfg.type}.${k} must be in [0, 1), got ${cfg[k]}` };
  return undefined;
}

/** The shared update; `decoupled` makes it AdamW's (θ ← θ·(1 − η·λ) first, λ not in the gradient). */
export function emitAdam({ w, targets, t, store, local, lr }: UpdateContext, cfg: AdamConfig | AdamWConfig, decoupled: boolean): void {
  const b1 = cfg.beta1 ?? 0.9;
  const b2 = cfg.beta2 ?? 0.999;
  const eps = cfg.eps ?? 1e-8;
  const wd = cfg.weightDecay ?? (decoupled ? 0.01 : 0);
  const stepSize = local("stepSize");
  const bc2 = local("bc2Sqrt");
  const vi = local("vi");
  const pi = local("pi");
  const [i, gi, mi] = [local("i"), local("gi"), local("mi")];
  w.line(`// bias corrections of step t: η/(1 − β1ᵗ) and √(1 − β2ᵗ)   (β1 = ${lit(b1)}, β2 = ${lit(b2)})`);
  w.line(`const ${stepSize} = ${lr} / (1 - ${lit(b1)} ** ${t});`);
  w.line(`const ${bc2} = Math.sqrt(1 - ${lit(b2)} ** ${t});`);
  const decay = decoupled && wd ? local("decay") : "";
  if (decoupled && wd) w.line(`const ${decay} = 1 - ${lr} * ${lit(wd)}; // decoupled weight decay: θ ← θ·(1 − η·λ), λ = ${lit(wd)}`);
  for (const tg of targets) {
    const p = tg.param;
    const m = tg.state.exp_avg!;
    const v = tg.state.exp_avg_sq!;
    const l2 = !decoupled && wd !== 0;
    w.line(
      `// ${decoupled && wd ? `${p} ← ${p}·(1 − η·λ);  ` : ""}g = ${l2 ? `${tg.grad} + λ·${p}` : tg.grad};  ${m} ← β1·${m} + (1 − β1)·g;  ${v} ← β2·${v} + (1 − β2)·g²;  ` +
        `${p} ← ${p} − η/(1 − β1ᵗ)·${m} / (√${v} / √(1 − β2ᵗ) + ε)   (ε = ${lit(eps)}${l2 ? `, λ = ${lit(wd)}` : ""})`,
    );
    w.loop(i, tg.size, () => {
      w.line(`const ${gi} = ${l2 ? `${tg.grad}[${i}]! + ${lit(wd)} * ${p}[${i}]!` : `${tg.grad}[${i}]!`};`);
      w.line(`const ${mi} = ${store(`${lit(b1)} * ${m}[${i}]! + ${lit(1 - b1)} * ${gi}`)};`);
      w.line(`const ${vi} = ${store(`${lit(b2)} * ${v}[${i}]! + ${lit(1 - b2)} * ${gi} * ${gi}`)};`);
      w.line(`${m}[${i}] = ${mi};`);
      w.line(`${v}[${i}] = ${vi};`);
      if (decoupled && wd) {
        w.line(`const ${pi} = ${store(`${p}[${i}]! * ${decay}`)};`);
        w.line(`${p}[${i}] = ${pi} - ${stepSize} * (${mi} / (Math.sqrt(${vi}) / ${bc2} + ${lit(eps)}));`);
      } else w.line(`${p}[${i}]! -= ${stepSize} * (${mi} / (Math.sqrt(${vi}) / ${bc2} + ${lit(eps)}));`);
    });
  }
}

export const adam: OptimizerDef<AdamConfig> = {
  torch: "torch.optim.Adam",
  fields: adamFields,
  defaults: { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
  check: checkBetas,
  state: () => ["exp_avg", "exp_avg_sq"],
  usesStep: true,
  emit: (ctx, cfg) => emitAdam(ctx, cfg, false),
};
