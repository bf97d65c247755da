// The contenders: each one builds the workload's MLP from the same initial parameters and batch, and
// offers `lossAndGrad` (for the numeric check) and `step` (forward + loss + backward + SGD update, the
// thing being timed). Each contender loads its library lazily, so that a child process loads only one.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { createJiti } from "jiti";
import { createHandwritten } from "./handwritten.js";
import { jaxLenet, tfjsLenet } from "./lenet.js";
import { jaxTransformer, tfjsTransformer } from "./transformer.js";
import { generatedFile, paramSpecs, REPO_DIR, type Batch, type Params, type Workload } from "./workloads.js";

export const CONTENDER_IDS = ["flatgrad", "flatgrad-loops", "flatgrad-baseline", "handwritten", "tfjs-cpu", "tfjs-wasm", "tfjs-wasm-cg", "jax-js"] as const;
export type ContenderId = (typeof CONTENDER_IDS)[number];

export const CONTENDER_LABELS: Record<ContenderId, string> = {
  flatgrad: "flatgrad (generated step)",
  "flatgrad-loops": "flatgrad, plain loops (simd: false)",
  "flatgrad-baseline": "flatgrad, baseline build (--baseline)",
  handwritten: "hand-written flat-loop JS",
  "tfjs-cpu": "tfjs (cpu)",
  "tfjs-wasm": "tfjs (wasm, XNNPACK)",
  "tfjs-wasm-cg": "tfjs (wasm, XNNPACK) + tf.customGrad filter gradient as a conv2d",
  "jax-js": "@jax-js/jax (wasm, jit)",
};

export interface Contender {
  /** Library versions and settings, for the report. */
  readonly version: string;
  readonly note: string;
  /** The loss at the current parameters, and dL/dparam by flatgrad's names (no update). */
  lossAndGrad(): { loss: number; grads: Params };
  /** One training step on the batch; returns the loss before the update. */
  step(): number;
  /** The current parameters (read back), to compare trajectories. */
  params(): Params;
  /** Inference only (CNN workloads): the forward pass to the logits; returns one logit (read back, so the work is done). */
  forward?(): number;
}

const require = createRequire(import.meta.url);

type TF = typeof import("@tensorflow/tfjs-core");

/**
 * A tfjs model's training entry points, shared by every tfjs contender: the loss and its gradients
 * (`tf.variableGrads`), one SGD step (`minimize`), and the params read back, each variable in
 * flatgrad's layout by `back(name, data)`.
 */
export function tfjsTraining(tf: TF, lossFn: () => import("@tensorflow/tfjs-core").Scalar, vars: import("@tensorflow/tfjs-core").Variable[], lr: number, back: (name: string, data: Float32Array) => Float32Array): Pick<Contender, "lossAndGrad" | "step" | "params"> {
  const opt = tf.train.sgd(lr);
  return {
    lossAndGrad: () => {
      const { value, grads } = tf.variableGrads(lossFn, vars);
      const out: Params = {};
      for (const v of vars) out[v.name] = back(v.name, grads[v.name]!.dataSync() as Float32Array);
      const loss = value.dataSync()[0]!;
      value.dispose();
      tf.dispose(grads);
      return { loss, grads: out };
    },
    step: () => {
      const cost = opt.minimize(lossFn, true, vars)!;
      const loss = cost.dataSync()[0]!;
      cost.dispose();
      return loss;
    },
    params: () => {
      const out: Params = {};
      for (const v of vars) out[v.name] = back(v.name, v.dataSync() as Float32Array);
      return out;
    },
  };
}

export function packageVersion(name: string): string {
  // resolve the package's directory from its main entry (these packages have no "exports" for package.json)
  let dir = dirname(require.resolve(name));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === name) return `${name}@${pkg.version ?? "?"}`;
    } catch {
      // not here; go up
    }
    const up = dirname(dir);
    if (up === dir) return `${name}@?`;
    dir = up;
  }
}

/** The generated module's shape, as far as the bench uses it. */
interface GeneratedModel {
  params: Params;
  grads: Params;
  lossAndGrad(inputs: { x: Float32Array; y: Float32Array | Int32Array }): number;
  forward(inputs: { x: Float32Array; y: Float32Array | Int32Array }): Record<string, Float32Array>;
  step(inputs: { x: Float32Array; y: Float32Array | Int32Array }, options?: { lr?: number }): number;
  readonly engine: string;
}
interface GeneratedModule {
  spec: { name: string; dtype: string; params: Record<string, number[]> };
  createModel(options?: { seed?: number; simd?: boolean }): GeneratedModel;
}

const jiti = createJiti(import.meta.url);

/** The folder of the baseline build's generated modules (`--baseline`), passed to the children in the environment. */
export const BASELINE_ENV = "FLATGRAD_BENCH_BASELINE";

/** Load the workload's generated module from bench/.work/ (compiled by the bench's first stage), or from the baseline folder. */
export async function loadGenerated(w: Workload, baseline = false): Promise<GeneratedModule> {
  const dir = process.env[BASELINE_ENV];
  if (baseline && !dir) throw new Error(`flatgrad-baseline: no baseline folder (run with --baseline DIR)`);
  return (await jiti.import(baseline ? join(dir!, basename(generatedFile(w.id))) : generatedFile(w.id))) as GeneratedModule;
}

function snapshot(p: Params): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(p)) out[k] = Float32Array.from(v);
  return out;
}

/** flatgrad's generated step: by default with its WebAssembly SIMD matmuls, or (`simd: false`) with the plain loops alone. */
async function flatgrad(w: Workload, init: Params, batch: Batch, simd: boolean, baseline = false): Promise<Contender> {
  const mod = await loadGenerated(w, baseline);
  const model = mod.createModel({ seed: w.seed, simd });
  if (simd && model.engine !== "wasm-simd") throw new Error(`flatgrad: the WebAssembly SIMD kernels did not load here (engine ${model.engine})`);
  // flatgrad's own initialisation is the reference; check that it is what everyone else got
  for (const { name } of paramSpecs(w)) {
    const a = model.params[name], b = init[name];
    if (!a || !b || a.length !== b.length || a.some((v, i) => v !== b[i])) throw new Error(`flatgrad: param ${name} differs from the shared init`);
  }
  const inputs = { x: batch.x, y: batch.y };
  const options = { lr: w.lr };
  return {
    version: baseline
      ? `flatgrad, modules from ${process.env[BASELINE_ENV]}`
      : `flatgrad@${(JSON.parse(readFileSync(join(REPO_DIR, "package.json"), "utf8")) as { version: string }).version} (working tree)`,
    note: `generated module, jiti-loaded; engine ${model.engine}`,
    lossAndGrad: () => ({ loss: model.lossAndGrad(inputs), grads: snapshot(model.grads) }),
    step: () => model.step(inputs, options),
    params: () => snapshot(model.params),
    ...(w.cnn ? { forward: () => model.forward(inputs).logits![0]! } : {}),
  };
}

async function handwritten(w: Workload, init: Params, batch: Batch): Promise<Contender> {
  if (w.cnn || w.seq) throw new Error("the hand-written contender is an MLP: there is no hand-written CNN or transformer");
  const model = createHandwritten(w, init);
  const lr = w.lr;
  return {
    version: "bench/handwritten.ts",
    note: "4×2-blocked A·Bᵀ, A·B, Aᵀ·B; fused bias+ReLU, ReLU mask, SGD into dW",
    lossAndGrad: () => ({ loss: model.lossAndGrad(batch), grads: snapshot(model.grads) }),
    step: () => model.step(batch, lr),
    params: () => snapshot(model.params),
  };
}

async function tfjs(w: Workload, init: Params, batch: Batch, backend: "cpu" | "wasm", customGrad = false): Promise<Contender> {
  const tf = await import("@tensorflow/tfjs-core");
  // tfjs-core's Node bundle carries no gradient functions (the @tensorflow/tfjs union package registers
  // them); register tfjs' own, from tfjs-core's ES-module build (jiti transpiles it; registries are global).
  await jiti.import("@tensorflow/tfjs-core/dist/register_all_gradients.js");
  let note: string;
  if (backend === "cpu") {
    await import("@tensorflow/tfjs-backend-cpu");
    if (!(await tf.setBackend("cpu"))) throw new Error("tf.setBackend('cpu') failed");
    note = "kernels [in, out] as in tfjs-layers, tf.fused.matMul (bias + relu), tf.losses.*CrossEntropy, tf.train.sgd().minimize";
  } else {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    wasm.setWasmPaths(dirname(require.resolve("@tensorflow/tfjs-backend-wasm")) + "/");
    wasm.setThreadsCount(1);
    if (!(await tf.setBackend("wasm"))) throw new Error("tf.setBackend('wasm') failed");
    const simd = String(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"));
    note = `threads=${wasm.getThreadsCount()}, simd=${simd}; the same graph as tfjs (cpu)`;
  }
  await tf.ready();
  if (tf.getBackend() !== backend) throw new Error(`tfjs backend is ${tf.getBackend()}, wanted ${backend}`);
  const libs = [packageVersion("@tensorflow/tfjs-core"), packageVersion(backend === "cpu" ? "@tensorflow/tfjs-backend-cpu" : "@tensorflow/tfjs-backend-wasm")].join(", ");
  if (w.seq) return tfjsTransformer(tf, w, init, batch, note, libs);
  if (w.cnn) return tfjsLenet(tf, w, init, batch, customGrad, note, [packageVersion("@tensorflow/tfjs-core"), packageVersion(backend === "cpu" ? "@tensorflow/tfjs-backend-cpu" : "@tensorflow/tfjs-backend-wasm")].join(", "));

  // Weights in tfjs-layers' Dense layout, kernel [in, out] (y = x·kernel + bias): the transpose of
  // flatgrad's W [out, in]. (tfjs-backend-wasm 4.22.0's fused matMul with transposeB and a bias gives
  // wrong values; with this layout it is right, and it is what tfjs-layers does anyway.)
  const L = w.sizes.length - 1;
  const kernels: import("@tensorflow/tfjs-core").Variable[] = [];
  const biases: import("@tensorflow/tfjs-core").Variable[] = [];
  for (let l = 1; l <= L; l++) {
    const out = w.sizes[l]!, inp = w.sizes[l - 1]!;
    kernels.push(tf.variable(tf.tensor2d(transpose(init[`W${l}`]!, out, inp), [inp, out]), true, `W${l}`));
    biases.push(tf.variable(tf.tensor1d(init[`b${l}`]!), true, `b${l}`));
  }
  const vars = kernels.flatMap((k, i) => [k, biases[i]!]);
  const x = tf.tensor2d(batch.x, [w.batch, w.sizes[0]!]);
  const y = tf.tensor2d(batch.y, [w.batch, w.sizes[L]!]);
  const lossFn = (): import("@tensorflow/tfjs-core").Scalar => {
    let h: import("@tensorflow/tfjs-core").Tensor = x;
    for (let l = 1; l <= L; l++) {
      h = tf.fused.matMul({ a: h, b: kernels[l - 1]!, bias: biases[l - 1]!, activation: l < L ? "relu" : "linear" });
    }
    return w.loss === "softmaxCE" ? tf.losses.softmaxCrossEntropy(y, h) : tf.losses.sigmoidCrossEntropy(y, h);
  };
  /** flatgrad's layout of variable `v`: kernels back to [out, in]. */
  const asFlatgrad = (name: string, data: Float32Array): Float32Array => {
    if (!name.startsWith("W")) return Float32Array.from(data);
    const l = Number(name.slice(1));
    return transpose(data, w.sizes[l - 1]!, w.sizes[l]!);
  };
  const version = [packageVersion("@tensorflow/tfjs-core"), packageVersion(backend === "cpu" ? "@tensorflow/tfjs-backend-cpu" : "@tensorflow/tfjs-backend-wasm")].join(", ");
  return {
    version,
    note,
    ...tfjsTraining(tf, lossFn, vars, w.lr, asFlatgrad),
  };
}

/** [rows × cols] row-major → [cols × rows] */
function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j]!;
  return out;
}

async function jaxjs(w: Workload, init: Params, batch: Batch): Promise<Contender> {
  if (w.cnn) return jaxLenet(w, init, batch);
  if (w.seq) return jaxTransformer(w, init, batch);
  const jax = await import("@jax-js/jax");
  const { numpy: np, nn, tree } = jax;
  type Arr = InstanceType<typeof jax.Array>;
  const devices = await jax.init("cpu", "wasm");
  if (!devices.includes("wasm")) throw new Error(`@jax-js/jax: no wasm device (init gave ${JSON.stringify(devices)})`);
  jax.defaultDevice("wasm");

  const L = w.sizes.length - 1;
  const names = paramSpecs(w).map((p) => p.name);
  type P = Record<string, Arr>;
  let params: P = {};
  for (const { name, shape } of paramSpecs(w)) params[name] = np.array(Float32Array.from(init[name]!)).reshape(shape);
  const x = np.array(Float32Array.from(batch.x)).reshape([w.batch, w.sizes[0]!]);
  const y = np.array(Float32Array.from(batch.y)).reshape([w.batch, w.sizes[L]!]);

  // Every Array argument is consumed (jax-js' ownership rules): each parameter is used once.
  const lossFn = (p: P, xs: Arr, ys: Arr): Arr => {
    let h = xs;
    for (let l = 1; l <= L; l++) {
      const z = np.matmul(h, p[`W${l}`]!.transpose()).add(p[`b${l}`]!);
      h = l < L ? nn.relu(z) : z;
    }
    if (w.loss === "softmaxCE") return nn.logSoftmax(h).mul(ys).sum().mul(-1 / w.batch);
    // mean(softplus(z) − z·y): BCE on logits
    return nn.softplus(h.ref).sub(h.mul(ys)).mean();
  };
  const lr = w.lr;
  // jax-js' pytree generics do not follow a Record through valueAndGrad: cast
  const vg = jax.valueAndGrad(lossFn as any) as unknown as (p: P, xs: Arr, ys: Arr) => [Arr, P];
  const gradFn = jax.jit((p: P, xs: Arr, ys: Arr) => vg(p, xs, ys)) as unknown as (p: P, xs: Arr, ys: Arr) => [Arr, P];
  const stepFn = jax.jit((p: P, xs: Arr, ys: Arr) => {
    const [loss, g] = vg(tree.ref(p), xs, ys);
    const next: P = {};
    for (const k of names) next[k] = p[k]!.sub(g[k]!.mul(lr));
    return [loss, next];
  }) as unknown as (p: P, xs: Arr, ys: Arr) => [Arr, P];

  return {
    version: packageVersion("@jax-js/jax"),
    note: `init("cpu","wasm"), defaultDevice("wasm"), jit(valueAndGrad + SGD); no Worker in Node, so one thread`,
    lossAndGrad: () => {
      const [loss, g] = gradFn(tree.ref(params), x.ref, y.ref);
      const grads: Params = {};
      for (const k of names) grads[k] = Float32Array.from(g[k]!.dataSync() as Float32Array);
      return { loss: (loss.dataSync() as Float32Array)[0]!, grads };
    },
    step: () => {
      const [loss, next] = stepFn(params, x.ref, y.ref);
      params = next;
      // reading the loss runs the pending kernels (jax-js dispatches lazily), like every other step
      return (loss.dataSync() as Float32Array)[0]!;
    },
    params: () => {
      const out: Params = {};
      for (const k of names) out[k] = Float32Array.from(params[k]!.ref.dataSync() as Float32Array);
      return out;
    },
  };
}

export async function createContender(id: ContenderId, w: Workload, init: Params, batch: Batch): Promise<Contender> {
  switch (id) {
    case "flatgrad":
      return flatgrad(w, init, batch, true);
    case "flatgrad-loops":
      return flatgrad(w, init, batch, false);
    case "flatgrad-baseline":
      return flatgrad(w, init, batch, true, true);
    case "handwritten":
      return handwritten(w, init, batch);
    case "tfjs-cpu":
      return tfjs(w, init, batch, "cpu");
    case "tfjs-wasm":
      return tfjs(w, init, batch, "wasm");
    case "tfjs-wasm-cg":
      if (!w.cnn) throw new Error("tfjs-wasm-cg is the CNN workaround: on an MLP it is tfjs-wasm");
      return tfjs(w, init, batch, "wasm", true);
    case "jax-js":
      return jaxjs(w, init, batch);
  }
}
