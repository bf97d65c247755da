/**
 * RMSprop, as torch.optim.RMSprop:
 *   g ← ∇θ + λ·θ;   v ← α·v + (1 − α)·g²;
 *   centered: ḡ ← α·ḡ + (1 − α)·g and the denominator is √(v − ḡ²) + ε, else √v + ε;
 *   momentum μ > 0: b ← μ·b + g / denominator, θ ← θ − η·b;   else θ ← θ − η·g / denominator.
 */
import type { RmspropConfig } from "../dsl/define.js";
import { lit, type OptimizerDef } from "./types.js";

export const rmsprop: OptimizerDef<RmspropConfig> = {
  torch: "torch.optim.RMSprop",
  fields: { lr: "number", alpha: "number", eps: "number", momentum: "number", weightDecay: "number", centered: "boolean", clipGradNorm: "number" },
  defaults: { lr: 1e-2, alpha: 0.99, eps: 1e-8, momentum: 0, weightDecay: 0, centered: false },
  state: (cfg) => ["square_avg", ...((cfg.momentum ?? 0) > 0 ? ["momentum_buffer"] : []), ...(cfg.centered ? ["grad_avg"] : [])],
  usesStep: false,
  emit({ w, targets, store, local, lr }, cfg) {
    const a = cfg.alpha ?? 0.99;
    const eps = cfg.eps ?? 1e-8;
    const mu = cfg.momentum ?? 0;
    const wd = cfg.weightDecay ?? 0;
    const vi = local("vi");
    const ai = local("ai");
    const denom = local("denom");
    const [i, gi, mi] = [local("i"), local("gi"), local("mi")];
    for (const tg of targets) {
      const p = tg.param;
      const v = tg.state.square_avg!;
      const ga = tg.state.grad_avg;
      const b = tg.state.momentum_buffer;
      const den = ga ? `√(${v} − ${ga}²) + ε` : `√${v} + ε`;
      w.line(
        `// g = ${wd ? `${tg.grad} + λ·${p}` : tg.grad};  ${v} ← α·${v} + (1 − α)·g²;  ` +
          (ga ? `${ga} ← α·${ga} + (1 − α)·g;  ` : "") +
          (b ? `${b} ← μ·${b} + g/(${den});  ${p} ← ${p} − η·${b}` : `${p} ← ${p} − η·g/(${den})`) +
          `   (α = ${lit(a)}, ε = ${lit(eps)}${b ? `, μ = ${lit(mu)}` : ""}${wd ? `, λ = ${lit(wd)}` : ""})`,
      );
      w.loop(i, tg.size, () => {
        w.line(`const ${gi} = ${wd ? `${tg.grad}[${i}]! + ${lit(wd)} * ${p}[${i}]!` : `${tg.grad}[${i}]!`};`);
        w.line(`const ${vi} = ${store(`${lit(a)} * ${v}[${i}]! + ${lit(1 - a)} * ${gi} * ${gi}`)};`);
        w.line(`${v}[${i}] = ${vi};`);
        if (ga) {
          w.line(`const ${ai} = ${store(`${lit(a)} * ${ga}[${i}]! + ${lit(1 - a)} * ${gi}`)};`);
          w.line(`${ga}[${i}] = ${ai};`);
          w.line(`const ${denom} = Math.sqrt(${vi} - ${ai} * ${ai}) + ${lit(eps)};`);
        } else w.line(`const ${denom} = Math.sqrt(${vi}) + ${lit(eps)};`);
        if (b) {
          w.line(`const ${mi} = ${store(`${lit(mu)} * ${b}[${i}]! + ${gi} / ${denom}`)};`);
          w.line(`${b}[${i}] = ${mi};`);
          w.line(`${p}[${i}]! -= ${lr} * ${mi};`);
        } else w.line(`${p}[${i}]! -= ${lr} * (${gi} / ${denom});`);
      });
    }
  },
};
