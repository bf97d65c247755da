/**
 * The generated optimizers against their published update rules, written out plainly below in
 * float64 (they share no code with src/optim). The rules are torch.optim's documented
 * algorithms (SGD, Adam, AdamW, RMSprop) and torch.nn.utils.clip_grad_norm_.
 *
 * Setup: a float64 model is trained with `model.step`; the reference keeps its own float64
 * parameters and state. At each step a second instance of the same module (the probe) is set
 * to the reference's parameters and gives the gradient there (gradients themselves are checked
 * against an independent MLP and the interpreter in reference.test.ts and ops.test.ts); the
 * reference then clips and updates. After every one of 25 steps each parameter tensor must
 * agree to 1e-10 relative (|a − b| / max(|b|, 1e-3·max|b|), the floor for elements that are
 * near zero by cancellation), and the losses returned by `step` likewise.
 * lr overrides (`step(inputs, { lr })`) on every third step and a `resetOptimizer` halfway are
 * part of every trajectory.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { OptimizerConfig } from "../../src/dsl/define.js";
import { compileDefinition } from "../../src/compile.js";
import { defineModel } from "../../src/index.js";
import { FlatgradError } from "../../src/ir/shape.js";
import { compileAndLoad, rng, type GeneratedModel } from "../support/helpers.js";

type Tensors = Record<string, Float64Array>;
const NAMES = ["W1", "b1", "W2", "b2"];

// ---------------------------------------------------------------------------------------------
// The published rules, one small class each, state as torch names it.

interface Rule {
  step(p: Tensors, g: Tensors, lr: number): void;
  reset(): void;
}

const zerosLike = (p: Tensors): Tensors => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, new Float64Array(v.length)]));

/** torch.optim.SGD: g += λθ; b = μb + g (b = g at first); g = g + μb (nesterov) or b; θ -= γg. */
class Sgd implements Rule {
  private buf: Tensors | null = null;
  constructor(private c: { momentum: number; nesterov: boolean; weightDecay: number }) {}
  reset() {
    this.buf = null;
  }
  step(p: Tensors, g: Tensors, lr: number) {
    const { momentum: mu, nesterov, weightDecay: wd } = this.c;
    const first = this.buf === null;
    if (first) this.buf = zerosLike(p);
    for (const k of NAMES) {
      for (let i = 0; i < p[k]!.length; i++) {
        let gi = g[k]![i]! + wd * p[k]![i]!;
        if (mu !== 0) {
          const b = first ? gi : mu * this.buf![k]![i]! + gi;
          this.buf![k]![i] = b;
          gi = nesterov ? gi + mu * b : b;
        }
        p[k]![i] = p[k]![i]! - lr * gi;
      }
    }
  }
}

/**
 * Adam (Kingma & Ba, as torch.optim.Adam documents it), and AdamW (Loshchilov & Hutter, as
 * torch.optim.AdamW documents it: θ ← θ − γλθ before the Adam step):
 *   g += λθ (Adam only);  m = β1 m + (1 − β1) g;  v = β2 v + (1 − β2) g²;
 *   m̂ = m / (1 − β1ᵗ);  v̂ = v / (1 − β2ᵗ);  θ -= γ m̂ / (√v̂ + ε)
 */
class Adam implements Rule {
  private m: Tensors | null = null;
  private v: Tensors | null = null;
  private t = 0;
  constructor(private c: { beta1: number; beta2: number; eps: number; weightDecay: number; decoupled: boolean }) {}
  reset() {
    this.m = this.v = null;
    this.t = 0;
  }
  step(p: Tensors, g: Tensors, lr: number) {
    const { beta1, beta2, eps, weightDecay: wd, decoupled } = this.c;
    this.m ??= zerosLike(p);
    this.v ??= zerosLike(p);
    this.t += 1;
    for (const k of NAMES) {
      for (let i = 0; i < p[k]!.length; i++) {
        let theta = p[k]![i]!;
        let gi = g[k]![i]!;
        if (decoupled) theta = theta - lr * wd * theta;
        else gi = gi + wd * theta;
        const m = beta1 * this.m[k]![i]! + (1 - beta1) * gi;
        const v = beta2 * this.v[k]![i]! + (1 - beta2) * gi * gi;
        this.m[k]![i] = m;
        this.v[k]![i] = v;
        const mHat = m / (1 - Math.pow(beta1, this.t));
        const vHat = v / (1 - Math.pow(beta2, this.t));
        p[k]![i] = theta - (lr * mHat) / (Math.sqrt(vHat) + eps);
      }
    }
  }
}

/**
 * RMSprop (Hinton's lecture 6e; torch.optim.RMSprop's documented algorithm):
 *   g += λθ;  v = α v + (1 − α) g²;  centered: ḡ = α ḡ + (1 − α) g, ṽ = v − ḡ², else ṽ = v;
 *   μ > 0: b = μ b + g / (√ṽ + ε), θ -= γ b;  else θ -= γ g / (√ṽ + ε)
 */
class RmsProp implements Rule {
  private v: Tensors | null = null;
  private gAvg: Tensors | null = null;
  private b: Tensors | null = null;
  constructor(private c: { alpha: number; eps: number; momentum: number; weightDecay: number; centered: boolean }) {}
  reset() {
    this.v = this.gAvg = this.b = null;
  }
  step(p: Tensors, g: Tensors, lr: number) {
    const { alpha, eps, momentum: mu, weightDecay: wd, centered } = this.c;
    this.v ??= zerosLike(p);
    this.gAvg ??= zerosLike(p);
    this.b ??= zerosLike(p);
    for (const k of NAMES) {
      for (let i = 0; i < p[k]!.length; i++) {
        const gi = g[k]![i]! + wd * p[k]![i]!;
        const v = alpha * this.v[k]![i]! + (1 - alpha) * gi * gi;
        this.v[k]![i] = v;
        let vTilde = v;
        if (centered) {
          const ga = alpha * this.gAvg[k]![i]! + (1 - alpha) * gi;
          this.gAvg[k]![i] = ga;
          vTilde = v - ga * ga;
        }
        const update = gi / (Math.sqrt(vTilde) + eps);
        if (mu > 0) {
          const b = mu * this.b[k]![i]! + update;
          this.b[k]![i] = b;
          p[k]![i] = p[k]![i]! - lr * b;
        } else p[k]![i] = p[k]![i]! - lr * update;
      }
    }
  }
}

/** clip_grad_norm_: total = ‖all g‖₂; g *= min(1, max / (total + 1e-6)). Returns whether it clipped. */
function clip(g: Tensors, maxNorm: number): boolean {
  let sq = 0;
  for (const k of NAMES) for (const x of g[k]!) sq += x * x;
  const coef = maxNorm / (Math.sqrt(sq) + 1e-6);
  if (coef >= 1) return false;
  for (const k of NAMES) for (let i = 0; i < g[k]!.length; i++) g[k]![i] = g[k]![i]! * coef;
  return true;
}

function ruleFor(cfg: OptimizerConfig): Rule {
  switch (cfg.type) {
    case "sgd":
      return new Sgd({ momentum: cfg.momentum ?? 0, nesterov: cfg.nesterov ?? false, weightDecay: cfg.weightDecay ?? 0 });
    case "adam":
    case "adamw":
      return new Adam({
        beta1: cfg.beta1 ?? 0.9,
        beta2: cfg.beta2 ?? 0.999,
        eps: cfg.eps ?? 1e-8,
        weightDecay: cfg.weightDecay ?? (cfg.type === "adamw" ? 0.01 : 0),
        decoupled: cfg.type === "adamw",
      });
    case "rmsprop":
      return new RmsProp({ alpha: cfg.alpha ?? 0.99, eps: cfg.eps ?? 1e-8, momentum: cfg.momentum ?? 0, weightDecay: cfg.weightDecay ?? 0, centered: cfg.centered ?? false });
  }
}

const DEFAULT_LR: Record<OptimizerConfig["type"], number> = { sgd: 0.01, adam: 1e-3, adamw: 1e-3, rmsprop: 1e-2 };

// ---------------------------------------------------------------------------------------------

function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let big = 0;
  for (let i = 0; i < expected.length; i++) big = Math.max(big, Math.abs(expected[i]!));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    if (!Number.isFinite(a)) return Infinity;
    const denom = Math.max(Math.abs(expected[i]!), 1e-3 * big);
    worst = Math.max(worst, denom === 0 ? Math.abs(a - expected[i]!) : Math.abs(a - expected[i]!) / denom);
  }
  return worst;
}

const worst: Record<string, number> = {};

const B = 12;
const build = (kind: "ce" | "mse") => (g: Parameters<Parameters<typeof defineModel>[0]["build"]>[0]) => {
  const x = g.input("x", [B, 5]);
  const y = g.input("y", [B, 3]);
  const W1 = g.param("W1", [7, 5]);
  const b1 = g.param("b1", [7], { init: "normal", std: 0.1 });
  const W2 = g.param("W2", [3, 7]);
  const b2 = g.param("b2", [3]);
  const z = g.linear(g.tanh(g.linear(x, W1, b1)), W2, b2);
  g.output("z", z);
  return kind === "ce" ? g.softmaxCrossEntropy(z, y) : g.mse(z, y);
};

function batches(kind: "ce" | "mse", count: number, seed: number) {
  const r = rng(seed);
  return Array.from({ length: count }, () => {
    const x = Float64Array.from({ length: B * 5 }, () => r() * 4 - 2);
    const y = new Float64Array(B * 3);
    for (let i = 0; i < B; i++) {
      if (kind === "ce") y[i * 3 + Math.floor(r() * 3)] = 1;
      else for (let j = 0; j < 3; j++) y[i * 3 + j] = r() * 2 - 1;
    }
    return { x, y };
  });
}

const copy = (m: GeneratedModel): Tensors => Object.fromEntries(NAMES.map((k) => [k, Float64Array.from(m.params[k]!)]));

const CONFIGS: { name: string; kind: "ce" | "mse"; cfg: OptimizerConfig }[] = [
  { name: "sgd", kind: "ce", cfg: { type: "sgd", lr: 0.3 } },
  { name: "sgd momentum + nesterov + weightDecay", kind: "mse", cfg: { type: "sgd", lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 } },
  { name: "adam (defaults)", kind: "ce", cfg: { type: "adam" } },
  { name: "adam, lr 0.02, betas 0.8/0.99, weightDecay, clipGradNorm", kind: "mse", cfg: { type: "adam", lr: 0.02, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.05, clipGradNorm: 0.5 } },
  { name: "adamw (defaults)", kind: "ce", cfg: { type: "adamw" } },
  { name: "adamw, lr 0.05, weightDecay 0.2, clipGradNorm", kind: "mse", cfg: { type: "adamw", lr: 0.05, weightDecay: 0.2, clipGradNorm: 0.5 } },
  { name: "rmsprop (defaults)", kind: "ce", cfg: { type: "rmsprop" } },
  { name: "rmsprop momentum", kind: "mse", cfg: { type: "rmsprop", lr: 0.005, momentum: 0.9 } },
  { name: "rmsprop centered + momentum + weightDecay + clipGradNorm", kind: "mse", cfg: { type: "rmsprop", lr: 0.003, alpha: 0.9, centered: true, momentum: 0.5, weightDecay: 0.1, clipGradNorm: 0.5 } },
];
const STEPS = 25;

describe.each(CONFIGS)("$name: the trajectory against the published rule", ({ name, kind, cfg }) => {
  it(`${STEPS} steps in float64 to 1e-10, with lr overrides and resetOptimizer`, async () => {
    const { mod } = await compileAndLoad({ dtype: "float64", optimizer: cfg, build: build(kind) }, `optim-${cfg.type}`);
    const model = mod.createModel({ seed: 3 });
    const probe = mod.createModel({ seed: 3 });
    const params = copy(model);
    const rule = ruleFor(cfg);
    const lr0 = cfg.lr ?? DEFAULT_LR[cfg.type];
    const data = batches(kind, 6, 17);
    let clipped = 0;
    const losses: number[] = [];
    for (let t = 0; t < STEPS; t++) {
      if (t === 13) {
        model.resetOptimizer();
        rule.reset();
      }
      const b = data[t % data.length]!;
      const lr = t % 3 === 2 ? lr0 * 0.5 : undefined;
      for (const k of NAMES) probe.params[k]!.set(params[k]!);
      const refLoss = probe.lossAndGrad(b);
      const g: Tensors = Object.fromEntries(NAMES.map((k) => [k, Float64Array.from(probe.grads[k]!)]));
      if (cfg.clipGradNorm !== undefined && clip(g, cfg.clipGradNorm)) clipped++;
      rule.step(params, g, lr ?? lr0);
      const loss = model.step(b, lr === undefined ? undefined : { lr });
      losses.push(loss);
      const errs = [relErr([loss], [refLoss]), ...NAMES.map((k) => relErr(model.params[k]!, params[k]!))];
      const e = Math.max(...errs);
      worst[name] = Math.max(worst[name] ?? 0, e);
      if (!(e <= 1e-10)) expect.fail(`step ${t}: relative error ${e.toExponential(3)} > 1e-10`);
    }
    // the parameters really moved, and training works on these batches
    expect(relErr(model.params.W1!, mod.createModel({ seed: 3 }).params.W1!)).toBeGreaterThan(1e-3);
    expect(losses.slice(-6).reduce((a, c) => a + c)).toBeLessThan(losses.slice(0, 6).reduce((a, c) => a + c));
    if (cfg.clipGradNorm !== undefined) {
      expect(clipped).toBeGreaterThan(0);
      expect(clipped).toBeLessThan(STEPS);
    }
  });
});

describe("optimizer state", () => {
  it("lives in the arena after the params; resetOptimizer zeroes it, so training restarts identically", async () => {
    const { mod } = await compileAndLoad({ dtype: "float64", optimizer: { type: "adam", lr: 0.01 }, build: build("ce") }, "optim-reset");
    const data = batches("ce", 4, 5);
    const a = mod.createModel({ seed: 1 });
    const b = mod.createModel({ seed: 1 });
    for (const d of data) a.step(d);
    // a: reset the optimizer and put the initial params back; it must then follow b exactly
    const init = mod.createModel({ seed: 1 });
    a.resetOptimizer();
    for (const k of NAMES) a.params[k]!.set(init.params[k]!);
    for (let t = 0; t < 8; t++) expect(a.step(data[t % 4]!)).toBe(b.step(data[t % 4]!));
    for (const k of NAMES) expect(a.params[k]).toEqual(b.params[k]);
    // the state is in the same arena as the params
    expect(a.params.W1!.buffer).toBe(a.params.b2!.buffer);
  });

  it("step(inputs, { lr }) uses the override for that step only", async () => {
    const { mod } = await compileAndLoad({ dtype: "float64", optimizer: { type: "sgd", lr: 0.1 }, build: build("mse") }, "optim-lr");
    const d = batches("mse", 1, 9)[0]!;
    const m = mod.createModel({ seed: 2 });
    const before = copy(m);
    m.step(d, { lr: 0.5 });
    for (const k of NAMES) for (let i = 0; i < before[k]!.length; i++) expect(m.params[k]![i]).toBe(before[k]![i]! - 0.5 * m.grads[k]![i]!);
    const mid = copy(m);
    m.step(d);
    for (const k of NAMES) for (let i = 0; i < mid[k]!.length; i++) expect(m.params[k]![i]).toBe(mid[k]![i]! - 0.1 * m.grads[k]![i]!);
    m.step(d, {}); // an empty options object is the configured lr
    for (const bad of [NaN, Infinity, "0.1" as unknown as number]) expect(() => m.step(d, { lr: bad })).toThrow(/lr must be a finite number/);
  });

  it("float32: Adam runs in float32 storage, close to the float64 trajectory", async () => {
    const cfg: OptimizerConfig = { type: "adam", lr: 0.01 };
    const m32 = (await compileAndLoad({ dtype: "float32", optimizer: cfg, build: build("ce") }, "optim-f32")).mod.createModel({ seed: 4 });
    const m64 = (await compileAndLoad({ dtype: "float64", optimizer: cfg, build: build("ce") }, "optim-f64")).mod.createModel({ seed: 4 });
    for (const k of NAMES) m64.params[k]!.set(m32.params[k]!);
    const data = batches("ce", 4, 8);
    for (let t = 0; t < 20; t++) {
      const d = data[t % 4]!;
      m32.step({ x: Float32Array.from(d.x), y: Float32Array.from(d.y) });
      m64.step({ x: Float64Array.from(Float32Array.from(d.x)), y: d.y });
    }
    for (const k of NAMES) expect(relErr(m32.params[k]!, m64.params[k]!)).toBeLessThan(1e-3);
  });
});

describe("optimizer config errors", () => {
  const cases: { cfg: unknown; code: string; message: RegExp }[] = [
    { cfg: { type: "adagrad" }, code: "FG130", message: /unknown type "adagrad" \(known: sgd, adam, adamw, rmsprop\)/ },
    { cfg: { type: "adam", momentum: 0.9 }, code: "FG131", message: /unknown field "momentum" for adam \(known: lr, beta1, beta2, eps, weightDecay, clipGradNorm\)/ },
    { cfg: { type: "rmsprop", nesterov: true }, code: "FG131", message: /unknown field "nesterov" for rmsprop/ },
    { cfg: { type: "adamw", beta1: 1 }, code: "FG132", message: /adamw\.beta1 must be in \[0, 1\), got 1/ },
    { cfg: { type: "adam", beta2: -0.1 }, code: "FG132", message: /adam\.beta2 must be a finite number ≥ 0/ },
    { cfg: { type: "rmsprop", centered: 1 }, code: "FG132", message: /rmsprop\.centered must be a boolean/ },
    { cfg: { type: "adam", clipGradNorm: NaN }, code: "FG132", message: /adam\.clipGradNorm must be a finite number/ },
    { cfg: { type: "sgd", nesterov: true }, code: "FG132", message: /sgd\.nesterov needs momentum > 0/ },
  ];
  it.each(cases)("$code: $message", async ({ cfg, code, message }) => {
    const err = await compileDefinition(defineModel({ optimizer: cfg as OptimizerConfig, build: build("mse") }), "bad").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FlatgradError);
    expect((err as FlatgradError).code).toBe(code);
    expect((err as Error).message).toMatch(message);
  });

  it("fills in torch's defaults", async () => {
    const { built } = await compileDefinition(defineModel({ optimizer: { type: "adamw" }, build: build("mse") }), "d");
    expect(built.optimizer).toEqual({ type: "adamw", lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });
    const r = await compileDefinition(defineModel({ optimizer: { type: "rmsprop" }, build: build("mse") }), "d");
    expect(r.built.optimizer).toEqual({ type: "rmsprop", lr: 1e-2, alpha: 0.99, eps: 1e-8, momentum: 0, weightDecay: 0, centered: false });
  });
});

afterAll(() => {
  // FLATGRAD_REPORT=1 npx vitest run test/optim.test.ts prints the largest relative errors measured
  if (process.env.FLATGRAD_REPORT) for (const [k, v] of Object.entries(worst)) console.log(`max relative error, ${k}: ${v.toExponential(2)}`);
});
