/**
 * `flatgrad export --torch` against the generated module, in float64: the exported nn.Module's loss,
 * autograd gradients, buffer updates, outputs in both modes and make_optimizer's trajectory equal the
 * generated module's to 1e-9 relative, for every example model and a model per op family; checkpoints
 * cross both ways (saveParams → load_state_dict(strict=True), state_dict → loadParams). PyTorch runs
 * once for all cases (Debian's python3-torch, installed by test/support/torch.ts when missing).
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineModel, type ModelDefinition } from "../../src/dsl/define.js";
import { buildModel } from "../../src/front/build.js";
import { loadModelFile } from "../../src/front/load.js";
import { exportTorch } from "../../src/interop/torch.js";
import { roots, topo } from "../../src/ir/graph.js";
import { registry } from "../../src/ops/index.js";
import { size } from "../../src/ir/shape.js";
import { main } from "../../src/cli/main.js";
import { compileAndLoad, maxRelErr, rng, ROOT, TMP, type GeneratedModel, type GeneratedModule } from "../support/helpers.js";
import { runPython, torchPython } from "../support/torch.js";
import { execFileSync } from "node:child_process";
import type { Builder } from "../../src/dsl/builder.js";

const DIR = path.join(TMP, `torch-${process.pid}`);
/** Every example model (examples/models), by its case name. */
const EXAMPLES = readdirSync(path.join(ROOT, "examples/models")).filter((f) => f.endsWith(".model.ts")).sort().map((f) => f.replace(".model.ts", "").replace(/-/g, "_"));
const FAMILIES = ["unary", "binary", "reductions", "movement", "windows", "losses", "ints", "conv", "batchnorm", "sequence", "modes", "dropout"];
const TOL = 1e-9;

interface Case {
  name: string;
  def: ModelDefinition;
  /** Optimizer steps after the first training call (make_optimizer against model.step). */
  steps?: number;
  /** Positive inputs (for ops whose inputs must be > 0, such as bce's probabilities). */
  inputs?: (name: string, i: number, rand: () => number) => number;
}

const f64 = (def: ModelDefinition): ModelDefinition => ({ ...def, dtype: "float64" });
const fileModel = async (rel: string) => (await loadModelFile(path.join(ROOT, rel))).exported as ModelDefinition;

const family = (build: (g: Builder) => unknown, optimizer: ModelDefinition["optimizer"] = { type: "sgd", lr: 0.05, momentum: 0.9 }): ModelDefinition => ({
  dtype: "float64",
  optimizer,
  build: build as ModelDefinition["build"],
});

async function cases(): Promise<Case[]> {
  const list: (Case | { name: string; steps: number })[] = [
    { name: "seed_net", def: f64(await fileModel("models/seed-net.model.ts")), steps: 3 },
    { name: "digits_mlp", def: f64(await fileModel("models/digits-mlp.model.ts")), steps: 3 },
    // every example model in examples/models (g.grad ones included: autograd differentiates the derivative again)
    ...EXAMPLES.map((name) => ({ name, steps: 3 })),
    {
      name: "unary",
      steps: 2,
      def: family((g) => {
        const x = g.input("x", [3, 5]);
        const W = g.param("W", [5, 5], { init: "xavier" });
        const z = g.linear(x, W);
        const parts = [g.exp(g.mul(z, 0.5)), g.log(g.softplus(z)), g.sqrt(g.add(g.square(z), 1)), g.abs(z), g.tanh(z), g.sigmoid(z), g.relu(z), g.leakyRelu(z, 0.1), g.pow(g.add(g.square(z), 2), 1.5), g.neg(z), g.mul(g.sign(z), z), g.mul(g.heaviside(z), z)];
        const total = parts.reduce((a, b) => g.add(a, b));
        g.output("y", total);
        return g.mean(g.square(total));
      }, { type: "adamw", lr: 0.01, weightDecay: 0.1, clipGradNorm: 0.5 }),
    },
    {
      name: "binary",
      steps: 2,
      def: family((g) => {
        const a = g.input("a", [3, 1]);
        const W = g.param("W", [1, 4], { init: "normal", std: 0.5 });
        const b = g.param("b", [4], { init: "uniform" });
        const x = g.add(g.mul(a, W), b);
        const y = g.sub(g.maximum(x, g.mul(a, 0.5)), g.minimum(x, b));
        const d = g.div(y, g.add(g.square(b), 1));
        g.output("d", d);
        return g.sum(g.mul(g.ge(x, 0), g.square(d)));
      }, { type: "rmsprop", lr: 0.01, momentum: 0.5, centered: true }),
    },
    {
      name: "reductions",
      steps: 2,
      def: family((g) => {
        const x = g.input("x", [2, 3, 4]);
        const W = g.param("W", [4, 4], { init: "he" });
        const z = g.matmul(x, W);
        const s = g.add(g.sum(z, [0, 2], true), g.mean(z, 1, true));
        const m = g.max(g.mul(z, s), [1, 2]);
        const l = g.logSumExp(z, 1);
        g.output("probs", g.softmax(z, 1));
        return g.add(g.sum(m), g.add(g.sum(l), g.mean(g.logSoftmax(z, -1))));
      }, { type: "adam", lr: 0.01 }),
    },
    {
      name: "movement",
      steps: 1,
      def: family((g) => {
        const x = g.input("x", [2, 3, 4]);
        const W = g.param("W", [4, 3], { init: "xavier" });
        const t = g.transpose(x, [2, 0, 1]); // [4,2,3]
        const r = g.reshape(t, [8, 3]);
        const z = g.matmul(r, g.transpose(W)); // [8,4]
        const p = g.pad(z, [[1, 0], [0, 2]], 0.5); // [9,6]
        const s = g.slice(p, 1, 1, -1); // [9,4]
        const b = g.broadcastTo(g.slice(W, 1, 0, 1), [2, 4, 4]); // [4,1] → [2,4,4]
        const y = g.mul(g.reshape(s, [9, 1, 4]), g.sum(b, 0));
        g.output("y", y);
        return g.mean(g.square(y));
      }),
    },
    {
      name: "windows",
      steps: 2,
      def: family((g) => {
        const x = g.input("x", [2, 2, 7, 6]);
        const W = g.param("W", [3, 2 * 3 * 3], { init: "he" });
        const b = g.param("b", [3]);
        // conv 3×3, padding 1, stride 2 over [N, C, H, W], then a 2×2 max pool with dilation
        const cols = g.window(g.pad(x, [[0, 0], [0, 0], [1, 1], [1, 1]]), [3, 3], { stride: 2 }); // [2,2,4,3,3,3]
        const flat = g.reshape(g.transpose(cols, [0, 2, 3, 1, 4, 5]), [2, 4, 3, 18]);
        const conv = g.relu(g.linear(flat, W, b)); // [2,4,3,3]
        const pooled = g.max(g.window(conv, [2, 2], { dilation: [2, 1] }), [4, 5]); // [2,2,2,3]... window over last two axes
        g.output("pooled", pooled);
        return g.mean(g.square(pooled));
      }),
    },
    {
      name: "losses",
      steps: 2,
      inputs: (name, _i, rand) => (name === "t" ? rand() : rand() * 2 - 1),
      def: family((g) => {
        const x = g.input("x", [4, 3]);
        const t = g.input("t", [4, 3]);
        const W = g.param("W", [3, 3], { init: "xavier" });
        const z = g.linear(x, W);
        const p = g.sigmoid(z);
        return g.add(g.add(g.mse(z, t), g.bce(p, t)), g.add(g.bceWithLogits(z, t), g.softmaxCrossEntropy(z, g.softmax(t))));
      }),
    },
    {
      name: "ints",
      steps: 2,
      inputs: (name, i) => (name === "y" ? (i * 7) % 5 : name === "ids" ? (i * 5) % 9 : Math.sin(i + 1)),
      def: family((g) => {
        const ids = g.input("ids", [4, 3], { dtype: "int32" });
        const y = g.input("y", [4, 3], { dtype: "int32" });
        const emb = g.embedding(ids, g.param("emb.weight", [9, 6], { init: "normal", std: 0.5 }));
        const logits = g.linear(g.tanh(emb), g.param("head.weight", [5, 6], { init: "xavier" }), g.param("head.bias", [5], { init: "uniform" }));
        g.output("pred", g.argmax(logits));
        g.output("hot", g.mul(g.oneHot(g.argmax(logits), 5, { ignoreIndex: 2 }), g.softmax(logits)));
        return g.add(g.crossEntropy(logits, y, { labelSmoothing: 0.1 }), g.mul(g.crossEntropy(logits, y, { ignoreIndex: 3 }), 0.5));
      }, { type: "adam", lr: 0.01 }),
    },
    {
      name: "conv",
      steps: 2,
      def: family((g) => {
        const x = g.input("x", [2, 2, 7, 6]);
        const c1 = g.relu(g.conv2d(x, g.param("conv1.weight", [4, 2, 3, 3], { init: "he" }), g.param("conv1.bias", [4], { init: "uniform" }), { padding: 1 }));
        const p1 = g.maxPool2d(c1, 2, { stride: [2, 1], padding: [1, 0] });
        const c2 = g.conv2d(p1, g.param("conv2.weight", [4, 2, 2, 2], { init: "he" }), undefined, { groups: 2, dilation: [1, 2], padding: "same" });
        const a = g.avgPool2d(g.tanh(c2), [2, 3], { stride: 1, countIncludePad: false, padding: [1, 1] });
        const c3 = g.conv1d(g.reshape(a, [2, 4, a.shape[2]! * a.shape[3]!]), g.param("conv3.weight", [3, 4, 3], { init: "he" }), undefined, { stride: 2 });
        g.output("y", c3);
        return g.mean(g.square(c3));
      }),
    },
    {
      name: "batchnorm",
      steps: 3,
      def: family((g) => {
        const x = g.input("x", [6, 3, 4, 4]);
        const c = g.conv2d(x, g.param("conv.weight", [4, 3, 3, 3], { init: "he" }), undefined, { padding: 1 });
        const bn = { weight: g.param("bn.weight", [4], { init: "uniform", low: 0.5, high: 1.5 }), bias: g.param("bn.bias", [4], { init: "uniform" }), runningMean: g.buffer("bn.running_mean", [4]), runningVar: g.buffer("bn.running_var", [4], { init: "ones" }) };
        const h = g.relu(g.batchNorm(c, bn, { momentum: 0.2 }));
        const f = g.reshape(g.maxPool2d(h, 2), [6, 16]);
        const bn2 = { runningMean: g.buffer("bn2.running_mean", [16]), runningVar: g.buffer("bn2.running_var", [16], { init: "ones" }) };
        const z = g.linear(g.batchNorm(f, bn2), g.param("fc.weight", [3, 16], { init: "xavier" }));
        g.output("z", z);
        return g.mean(g.square(g.sub(z, 0.5)));
      }, { type: "sgd", lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 }),
    },
    {
      name: "sequence",
      steps: 2,
      def: family((g) => {
        const x = g.input("x", [2, 4, 6]);
        const ln = g.layerNorm(x, g.param("ln.weight", [6], { init: "uniform", low: 0.5, high: 1.5 }), g.param("ln.bias", [6], { init: "uniform" }));
        const q = g.linear(ln, g.param("q.weight", [6, 6], { init: "xavier" }));
        const k = g.linear(ln, g.param("k.weight", [6, 6], { init: "xavier" }));
        const att = g.scaledDotProductAttention(q, k, g.gelu(ln), { causal: true });
        const mixed = g.concat([g.gelu(att, "tanh"), g.silu(ln), g.erf(g.mul(att, 0.5))], -1); // [2,4,18]
        const st = g.stack([g.slice(mixed, 1, 0, 1), g.slice(mixed, 1, 3, 4)], 0); // [2,2,1,18]
        let s = { h: g.reshape(g.slice(st, 0, 0, 1), [2, 18]), c: g.reshape(g.slice(st, 0, 1, 2), [2, 18]) };
        const [Wih, Whh, bih] = [g.param("lstm.weight_ih", [72, 6], { init: "xavier" }), g.param("lstm.weight_hh", [72, 18], { init: "xavier" }), g.param("lstm.bias_ih", [72], { init: "uniform" })];
        for (let t = 0; t < 2; t++) s = g.lstmCell(g.reshape(g.slice(x, 1, t, t + 1), [2, 6]), s.h, s.c, Wih, Whh, bih);
        const hg = g.gruCell(g.reshape(g.slice(ln, 1, 2, 3), [2, 6]), s.h, g.param("gru.weight_ih", [54, 6], { init: "xavier" }), g.param("gru.weight_hh", [54, 18], { init: "xavier" }), undefined, g.param("gru.bias_hh", [54], { init: "uniform" }));
        g.output("h", hg);
        return g.add(g.mean(g.square(hg)), g.mean(g.square(s.c)));
      }, { type: "adamw", lr: 0.01 }),
    },
    {
      name: "modes",
      steps: 2,
      def: family((g) => {
        const x = g.input("x", [4, 3]);
        const W = g.param("W", [3, 3], { init: "xavier" });
        const running = g.buffer("running", [3]);
        const z = g.linear(x, W);
        const batchMean = g.mean(z, 0);
        g.assign(running, g.add(g.mul(running, 0.9), g.mul(g.stopGradient(batchMean), 0.1)));
        const centred = g.sub(z, g.byMode(batchMean, running));
        g.output("c", centred);
        return g.mean(g.square(g.tanh(centred)));
      }),
    },
    {
      name: "dropout",
      def: family((g) => {
        const x = g.input("x", [8, 5]);
        const bn = { runningMean: g.buffer("bn.running_mean", [6], { init: "ones" }), runningVar: g.buffer("bn.running_var", [6], { init: "ones" }) };
        const h = g.dropout(g.relu(g.batchNorm(g.linear(x, g.param("fc1.weight", [6, 5], { init: "he" })), bn)), 0.4);
        const z = g.linear(h, g.param("fc2.weight", [2, 6], { init: "xavier" }));
        g.output("z", z);
        return g.mse(z, g.constant(0.5, [8, 2]));
      }),
    },
  ];
  return Promise.all(list.map(async (c) => ("def" in c ? c : { ...c, def: f64(await fileModel(`examples/models/${c.name.replace(/_/g, "-")}.model.ts`)) })));
}

type Tensor = Float32Array | Float64Array | Int32Array;
interface Prepared {
  c: Case;
  mod: GeneratedModule;
  inputs: Record<string, Tensor>;
  /** The generated module's numbers, in the same order of calls as the Python runner's. */
  ours: { loss: number; grads: Record<string, Float64Array>; trainOutputs: Record<string, Float64Array>; buffers: Record<string, Float64Array>; stepped: Record<string, Float64Array>; evalOutputs: Record<string, Float64Array> };
  model: GeneratedModel;
  fresh: GeneratedModel;
  /** A model with dropout: compared in eval mode (outputs and the eval loss), not in training. */
  random: boolean;
}

interface TorchResult {
  keys: string[];
  loss?: number;
  grads?: Record<string, number[]>;
  train_outputs: Record<string, number[]>;
  buffers: Record<string, number[]>;
  stepped?: Record<string, number[]>;
  eval_outputs: Record<string, number[]>;
  eval_loss?: number;
}

/**
 * Params whose gradient is zero up to rounding (|g| ≤ 1e-12·max |g| of the model: attention's key bias,
 * to which softmax is invariant). An optimizer that normalises the gradient (Adam, RMSprop) moves them by
 * about lr in a direction that rounding picks, and no two engines round alike: their trajectories are
 * not compared (their gradients, ≈ 0, are).
 */
function roundingOnly(grads: Record<string, ArrayLike<number>>): Set<string> {
  const top = Math.max(...Object.values(grads).map((g) => Math.max(...Array.from(g, Math.abs))));
  return new Set(Object.entries(grads).filter(([, g]) => Math.max(...Array.from(g, Math.abs)) <= 1e-12 * top).map(([k]) => k));
}

const copy = (r: Record<string, ArrayLike<number>>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Float64Array.from(v)]));
const asJson = (r: Record<string, Tensor>, spec: GeneratedModule["spec"], shapes: Record<string, number[]>) =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, { dtype: spec.inputDtypes[k] ?? spec.dtype, shape: shapes[k], values: Array.from(v) }]));

let prepared: Prepared[] = [];
let results: TorchResult[] = [];

beforeAll(async () => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  copyFileSync(path.join(ROOT, "templates/safetensors_io.py"), path.join(DIR, "safetensors_io.py"));
  const json: unknown[] = [];
  for (const c of await cases()) {
    const { mod } = await compileAndLoad(c.def, c.name);
    const built = buildModel(defineModel(c.def), c.name, `${c.name}.model.ts`);
    writeFileSync(path.join(DIR, `${c.name}.py`), exportTorch(built, `${c.name}.model.ts`).text);
    const rand = rng(7);
    const draw = (k: string, n: number) => Array.from({ length: n }, (_, i) => (c.inputs ?? ((_n, _i, r) => r() * 2 - 1))(k, i, rand));
    const inputs = Object.fromEntries(Object.entries(mod.spec.inputs).map(([k, s]) => [k, mod.spec.inputDtypes[k] === "int32" ? Int32Array.from(draw(k, size(s))) : Float64Array.from(draw(k, size(s)))])) as Record<string, Tensor>;
    const model = mod.createModel({ seed: 3 });
    const fresh = mod.createModel({ seed: 3 });
    const state = { ...model.params, ...model.buffers };
    const entry = { name: c.name, dir: DIR, module: path.join(DIR, `${c.name}.py`), state: asJson(state, mod.spec, { ...mod.spec.params, ...mod.spec.buffers }), inputs: asJson(inputs, mod.spec, mod.spec.inputs), steps: c.steps ?? 0, save: path.join(DIR, `${c.name}.torch.safetensors`) };
    // the checkpoint path: our saveParams file, loaded with load_state_dict(strict=True)
    writeFileSync(path.join(DIR, `${c.name}.ours.safetensors`), model.saveParams());
    json.push(entry, { ...entry, name: `${c.name}_ckpt`, state: undefined, checkpoint: path.join(DIR, `${c.name}.ours.safetensors`), steps: 0, save: undefined });
    // dropout: PyTorch's generator draws other masks than the module's, so such a model is compared in eval mode
    const random = topo(roots(buildModel(defineModel(c.def), c.name).graph)).some((n) => n.op === "dropoutMask");
    if (random) {
      (entry as Record<string, unknown>).train = false;
      (json[json.length - 1] as Record<string, unknown>).train = false;
      (json[json.length - 2] as Record<string, unknown>).train = false;
      const ours = { loss: (model as unknown as { loss(i: unknown): number }).loss(inputs), grads: {}, trainOutputs: {}, buffers: copy(model.buffers), stepped: copy(model.params), evalOutputs: copy(model.forward(inputs)) };
      prepared.push({ c, mod, inputs, ours, model, fresh, random });
      continue;
    }
    const loss = model.lossAndGrad(inputs);
    const ours = { loss, grads: copy(model.grads), trainOutputs: {}, buffers: copy(model.buffers), stepped: {}, evalOutputs: {} } as Prepared["ours"];
    for (let s = 0; s < (c.steps ?? 0); s++) model.step(inputs);
    ours.stepped = copy(model.params);
    ours.evalOutputs = copy(model.forward(inputs));
    prepared.push({ c, mod, inputs, ours, model, fresh, random });
  }
  const file = path.join(DIR, "cases.json");
  writeFileSync(file, JSON.stringify(json));
  results = runPython(path.join(ROOT, "test/interop/run_torch.py"), [file]) as TorchResult[];
}, 600_000);

afterAll(() => rmSync(DIR, { recursive: true, force: true }));

describe("export --torch: the exported module computes what the generated module computes (float64, 1e-9)", () => {
  it("skips trajectories only for params whose gradient is rounding noise (the transformer's key biases)", () => {
    const skipped = prepared.flatMap((p) => [...roundingOnly(p.ours.grads)].map((k) => `${p.c.name}:${k}`));
    expect(skipped.every((k) => /^sort_transformer:blocks\.\d\.attn\.k\.bias$/.test(k)), skipped.join(", ")).toBe(true);
  });

  it("covers every example model and op family", () => {
    expect(prepared.map((p) => p.c.name)).toEqual(["seed_net", "digits_mlp", ...EXAMPLES, ...FAMILIES]);
    expect(results).toHaveLength(2 * prepared.length);
  });

  it.each([...Array(2 + EXAMPLES.length + FAMILIES.length).keys()])("case %i: loss, gradients, buffers, optimizer steps and eval outputs", (i) => {
    const p = prepared[i]!;
    const r = results[2 * i]!;
    expect(r.keys).toEqual([...Object.keys(p.mod.spec.params), ...Object.keys(p.mod.spec.buffers)].sort());
    if (p.random) {
      expect(Math.abs(r.eval_loss! - p.ours.loss) / Math.abs(p.ours.loss), "eval loss").toBeLessThan(TOL);
      for (const [k, o] of Object.entries(p.ours.evalOutputs)) expect(maxRelErr(r.eval_outputs[k]!, o, 1e-6), k).toBeLessThan(TOL);
      return;
    }
    expect(Math.abs(r.loss! - p.ours.loss) / Math.abs(p.ours.loss)).toBeLessThan(TOL);
    for (const [k, g] of Object.entries(p.ours.grads)) expect(maxRelErr(r.grads![k]!, g, 1e-6), `d${k}`).toBeLessThan(TOL);
    for (const [k, b] of Object.entries(p.ours.buffers)) expect(maxRelErr(r.buffers[k]!, b, 1e-6), k).toBeLessThan(TOL);
    const noise = roundingOnly(p.ours.grads);
    for (const [k, v] of Object.entries(p.ours.stepped)) if (!noise.has(k)) expect(maxRelErr(r.stepped![k]!, v, 1e-6), `${k} after ${p.c.steps} steps`).toBeLessThan(TOL);
    for (const [k, o] of Object.entries(p.ours.evalOutputs)) expect(maxRelErr(r.eval_outputs[k]!, o, 1e-6), k).toBeLessThan(TOL);
    expect(Object.keys(r.eval_outputs).sort()).toEqual(Object.keys(p.mod.spec.outputs).sort());
  });

  it("a saveParams checkpoint loads into the exported module with strict=True and gives the same numbers", () => {
    for (let i = 0; i < prepared.length; i++) {
      const [a, b] = [results[2 * i]!, results[2 * i + 1]!];
      expect(b.loss).toBe(a.loss);
      // without training (a model with dropout), the eval numbers too
      if (prepared[i]!.random) expect([b.eval_loss, b.eval_outputs]).toEqual([a.eval_loss, a.eval_outputs]);
      for (const [k, g] of Object.entries(a.grads ?? {})) expect(b.grads![k], `${prepared[i]!.c.name} d${k}`).toEqual(g);
    }
  });

  it("a state_dict saved by PyTorch (safetensors_io.save_file) loads into the generated module with loadParams", () => {
    for (const p of prepared) {
      const bytes = readFileSync(path.join(DIR, `${p.c.name}.torch.safetensors`));
      p.fresh.loadParams(new Uint8Array(bytes));
      // PyTorch saved the params after the optimizer steps, and the buffers after the last training call
      const noise = roundingOnly(p.ours.grads);
      for (const [k, v] of Object.entries(p.ours.stepped)) if (!noise.has(k)) expect(maxRelErr(p.fresh.params[k]!, v, 1e-6), `${p.c.name} ${k}`).toBeLessThan(TOL);
      for (const k of Object.keys(p.mod.spec.buffers)) expect(maxRelErr(p.fresh.buffers[k]!, p.model.buffers[k]!, 1e-6), `${p.c.name} ${k}`).toBeLessThan(TOL);
    }
  });
});

describe("scale-out: DistributedDataParallel on two processes (examples/scale-out/train_ddp.py)", () => {
  // the seed network at two batch sizes: two processes × 32 rows against one process × 64 rows
  const net = (batch: number): ModelDefinition => ({
    dtype: "float64",
    optimizer: { type: "sgd", lr: 0.1, momentum: 0.9 },
    build(g) {
      const x = g.input("x", [batch, 6]);
      const y = g.input("y", [batch, 1]);
      const h = g.tanh(g.linear(x, g.param("fc1.weight", [8, 6], { init: "he" }), g.param("fc1.bias", [8], { init: "uniform" })));
      const z = g.linear(h, g.param("fc2.weight", [1, 8]), g.param("fc2.bias", [1]));
      g.output("yhat", g.sigmoid(z));
      return g.bceWithLogits(z, y);
    },
  });

  it("3 steps on 2 processes equal 3 steps of one process on the whole batch, and load back into the generated module", async () => {
    const dir = path.join(DIR, "ddp");
    mkdirSync(dir, { recursive: true });
    copyFileSync(path.join(ROOT, "templates/safetensors_io.py"), path.join(dir, "safetensors_io.py"));
    for (const b of [32, 64]) writeFileSync(path.join(dir, `net${b}.py`), exportTorch(buildModel(defineModel(net(b)), `net${b}`, `net${b}.model.ts`), `net${b}.model.ts`).text);
    const { mod } = await compileAndLoad(net(64), "net64");
    const model = mod.createModel({ seed: 5 });
    writeFileSync(path.join(dir, "init.safetensors"), model.saveParams());
    const rand = rng(11);
    const rows = 192;
    const data = { rows, inputs: { x: Array.from({ length: rows * 6 }, () => rand() * 2 - 1), y: Array.from({ length: rows }, () => (rand() < 0.5 ? 0 : 1)) } };
    writeFileSync(path.join(dir, "data.json"), JSON.stringify(data));
    const train = (module: string, world: number, out: string) =>
      execFileSync(torchPython(), [path.join(ROOT, "examples/scale-out/train_ddp.py"), "--module", path.join(dir, module), "--init", path.join(dir, "init.safetensors"), "--data", path.join(dir, "data.json"), "--steps", "3", "--world-size", String(world), "--out", path.join(dir, out), "--port", String(20000 + (process.pid % 20000))], { stdio: "inherit" });
    train("net32.py", 2, "ddp.safetensors");
    train("net64.py", 1, "single.safetensors");
    const ddp = mod.createModel({ seed: 0 });
    const single = mod.createModel({ seed: 0 });
    ddp.loadParams(new Uint8Array(readFileSync(path.join(dir, "ddp.safetensors"))));
    single.loadParams(new Uint8Array(readFileSync(path.join(dir, "single.safetensors"))));
    // the generated module itself, 3 steps on the same 3 batches of 64 rows
    for (let s = 0; s < 3; s++) model.step({ x: Float64Array.from(data.inputs.x.slice(s * 64 * 6, (s + 1) * 64 * 6)), y: Float64Array.from(data.inputs.y.slice(s * 64, (s + 1) * 64)) });
    for (const k of Object.keys(mod.spec.params)) {
      expect(maxRelErr(ddp.params[k]!, single.params[k]!, 1e-6), k).toBeLessThan(1e-12);
      expect(maxRelErr(ddp.params[k]!, model.params[k]!, 1e-6), k).toBeLessThan(TOL);
      expect(maxRelErr(ddp.params[k]!, mod.createModel({ seed: 5 }).params[k]!, 1e-6), `${k} moved`).toBeGreaterThan(1e-4);
    }
  });
});

describe("export --torch: the command", () => {
  const io = () => {
    const err: string[] = [];
    return { err, io: { out: () => {}, err: (s: string) => void err.push(s), isTTY: false, env: { ...process.env, INIT_CWD: ROOT } } };
  };

  it("writes <out>/<base>.py for several files, with safetensors_io.py beside them", async () => {
    const out = path.join(DIR, "cli");
    const { io: o, err } = io();
    expect(await main(["export", "--torch", "models/seed-net.model.ts", "models/digits-mlp.model.ts", "--out", out], o)).toBe(0);
    const text = readFileSync(path.join(out, "seed-net.py"), "utf8");
    expect(text).toMatch(/^# Exported by flatgrad from models\/seed-net\.model\.ts/);
    expect(text).toContain("class Model(torch.nn.Module):");
    expect(text).toContain("def make_optimizer(model):");
    expect(text.match(/^import .*/gm)).toEqual(["import math", "import torch"]);
    expect(readFileSync(path.join(out, "digits-mlp.py"), "utf8")).toContain("torch.optim.SGD(model.parameters(), lr=0.1");
    expect(readFileSync(path.join(out, "safetensors_io.py"), "utf8")).toContain("def load_file(path)");
    expect(err.join("")).toContain("wrote");
  });

  it("exits 2 on bad usage and 1 on a model error, writing nothing", async () => {
    const out = path.join(DIR, "nothing");
    for (const args of [["export"], ["export", "models/seed-net.model.ts"], ["export", "--torch"], ["export", "--torch", "--params", "x", "models/seed-net.model.ts"]]) {
      const { io: o } = io();
      expect(await main([...args, "--out", out], o), args.join(" ")).toBe(2);
    }
    const { io: o, err } = io();
    expect(await main(["export", "--torch", "models/seed-net.model.ts", "test/fixtures/bad/add-broadcast.model.ts", "--out", out], o)).toBe(1);
    expect(err.join("")).toMatch(/error FG\d{3}/);
    expect(() => readFileSync(path.join(out, "seed-net.py"))).toThrow();
  });

  it("FG230: an op without a PyTorch form is refused at that op's model line", () => {
    const def = registry.tanh as { torch?: unknown };
    const saved = def.torch;
    delete def.torch;
    try {
      const built = buildModel(
        defineModel({
          build(g) {
            const x = g.input("x", [2]);
            g.output("y", g.tanh(x));
          },
        }),
        "m",
        "m.model.ts",
      );
      const tanhLine = readFileSync(new URL(import.meta.url), "utf8").split("\n").findIndex((l) => l.includes(`g.output("y", g.tanh(x));`)) + 1;
      let err: unknown;
      try {
        exportTorch(built, "m.model.ts");
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: "FG230", message: expect.stringContaining("tanh has no PyTorch form"), site: { file: expect.stringContaining("torch.test.ts"), line: tanhLine } });
    } finally {
      def.torch = saved;
    }
  });

  it("every primitive has a PyTorch form (argmaxMask and the sources are spelled by the exporter), but customGrad's", () => {
    const missing = Object.entries(registry).filter(([k, d]) => d.kind === "primitive" && !("torch" in d) && d.lower.kind !== "source" && k !== "argmaxMask").map(([k]) => k);
    // a customGrad's rule is flatgrad IR built when the backward is derived: PyTorch's autograd cannot run it,
    // and exporting the forward alone would give PyTorch a different gradient than the model file's
    expect(missing).toEqual(["customVjp"]);
    const built = buildModel(defineModel({ build: (g) => g.sum(g.customGrad((h, a) => h.tanh(a), (h, _i, out, dy) => [h.mul(dy, h.sub(1, h.square(out)))])(g.param("w", [3]))) }), "m", "m.model.ts");
    expect(() => exportTorch(built, "m.model.ts")).toThrow(expect.objectContaining({ code: "FG230", message: expect.stringContaining("customVjp has no PyTorch form") }));
  });
});
