// W5 (one transformer block) in tfjs and @jax-js/jax, from flatgrad's initial parameters: the same network
// as bench/models/w5.model.ts, written out op by op in each library, so that every contender does the same
// math. Layer norm is (x − mean)/√(var + 1e-5)·w + b over the last axis (biased variance, as PyTorch's);
// GELU is the erf form; attention is q·kᵀ·¼ plus a causal mask of −1e9 above the diagonal (exp gives
// exactly 0 there, as flatgrad's loop bounds do), softmax, ·v, written with matmuls (jax-js'
// dotProductAttention and string einsum fail on Node 20); the loss is the mean cross-entropy over the 256
// positions, the labels one-hot. tfjs keeps linear weights as tfjs-layers' Dense does, kernel [in, out]
// (its wasm backend's fused matMul with transposeB is wrong, see bench/contenders.ts), and flattens
// [8,32,in] to [256,in] for them, as Dense does; jax-js uses flatgrad's [out, in] and x·Wᵀ.
import type { Batch, Params, Workload } from "./workloads.js";
import type { Contender } from "./contenders.js";
import { packageVersion, tfjsTraining } from "./contenders.js";

type TF = typeof import("@tensorflow/tfjs-core");
type T = import("@tensorflow/tfjs-core").Tensor;

const [B, L, D, NH, DH, C] = [8, 32, 64, 4, 16, 10];
const EPS = 1e-5;

/** The causal mask [L, L]: 0 where key j ≤ query i, −1e9 above the diagonal. */
function causalMask(): Float32Array {
  const m = new Float32Array(L * L);
  for (let i = 0; i < L; i++) for (let j = i + 1; j < L; j++) m[i * L + j] = -1e9;
  return m;
}

/** The labels [B·L] one-hot, [B·L, C]. */
function oneHot(labels: Int32Array): Float32Array {
  const y = new Float32Array(labels.length * C);
  labels.forEach((c, i) => (y[i * C + c] = 1));
  return y;
}

/** [rows × cols] row-major → [cols × rows] */
function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j]!;
  return out;
}

export async function tfjsTransformer(tf: TF, w: Workload, init: Params, batch: Batch, note: string, version: string): Promise<Contender> {
  const specs = w.seq!.params;
  /** A linear layer's weight: flatgrad's [out, in] stored as [in, out]. */
  const isKernel = (name: string) => name.endsWith(".weight") && specs.find((s) => s.name === name)!.shape.length === 2;
  const vars = specs.map(({ name, shape }) =>
    isKernel(name) ? tf.variable(tf.tensor2d(transpose(init[name]!, shape[0]!, shape[1]!), [shape[1]!, shape[0]!]), true, name) : tf.variable(tf.tensor(init[name]!, shape), true, name),
  );
  const v = Object.fromEntries(vars.map((x) => [x.name, x as T])) as Record<string, T>;
  const x = tf.tensor3d(batch.x, [B, L, D]);
  const y = tf.tensor2d(oneHot(batch.y as Int32Array), [B * L, C]);
  const mask = tf.tensor2d(causalMask(), [L, L]);
  const layerNorm = (t: T, p: string): T => {
    const xc = tf.sub(t, tf.mean(t, -1, true));
    const inv = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), EPS));
    return tf.add(tf.mul(tf.mul(xc, inv), v[`${p}.weight`]!), v[`${p}.bias`]!);
  };
  const linear = (t: T, p: string, out: number): T => {
    const inp = t.shape[t.shape.length - 1]!;
    return tf.reshape(tf.add(tf.matMul(tf.reshape(t, [B * L, inp]) as import("@tensorflow/tfjs-core").Tensor2D, v[`${p}.weight`]! as import("@tensorflow/tfjs-core").Tensor2D), v[`${p}.bias`]!), [B, L, out]);
  };
  const heads = (t: T): T => tf.transpose(tf.reshape(t, [B, L, NH, DH]), [0, 2, 1, 3]);
  const logits = (): T => {
    const h = layerNorm(x, "ln1");
    const q = heads(linear(h, "attn.q", D)), k = heads(linear(h, "attn.k", D)), vv = heads(linear(h, "attn.v", D));
    const P = tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(DH)), mask));
    const o = tf.reshape(tf.transpose(tf.matMul(P, vv), [0, 2, 1, 3]), [B, L, D]);
    const x1 = tf.add(x, linear(o, "attn.proj", D));
    const z = linear(layerNorm(x1, "ln2"), "mlp.fc1", 4 * D);
    const g = tf.mul(tf.mul(z, 0.5), tf.add(tf.erf(tf.mul(z, Math.SQRT1_2)), 1));
    const x2 = tf.add(x1, linear(g, "mlp.fc2", D));
    return tf.reshape(linear(x2, "head", C), [B * L, C]);
  };
  const lossFn = () => tf.losses.softmaxCrossEntropy(y, logits()) as import("@tensorflow/tfjs-core").Scalar;
  const back = (name: string, data: Float32Array): Float32Array => {
    if (!isKernel(name)) return Float32Array.from(data);
    const [out, inp] = specs.find((s) => s.name === name)!.shape as [number, number];
    return transpose(data, inp, out);
  };
  return {
    version,
    note: `${note}; written out: layer norm from tf.mean, attention as tf.matMul + a −1e9 causal mask + tf.softmax, GELU with tf.erf, linears [256, in]·kernel [in, out]`,
    ...tfjsTraining(tf, lossFn, vars, w.lr, back),
  };
}

export async function jaxTransformer(w: Workload, init: Params, batch: Batch): Promise<Contender> {
  const jax = await import("@jax-js/jax");
  const { numpy: np, nn, tree } = jax;
  type Arr = InstanceType<typeof jax.Array>;
  const devices = await jax.init("cpu", "wasm");
  if (!devices.includes("wasm")) throw new Error(`@jax-js/jax: no wasm device (init gave ${JSON.stringify(devices)})`);
  jax.defaultDevice("wasm");
  type P = Record<string, Arr>;
  const names = w.seq!.params.map((p) => p.name);
  let params: P = {};
  for (const { name, shape } of w.seq!.params) params[name] = np.array(Float32Array.from(init[name]!)).reshape(shape);
  const x = np.array(Float32Array.from(batch.x)).reshape([B, L, D]);
  const y = np.array(oneHot(batch.y as Int32Array)).reshape([B, L, C]);
  const mask = np.array(causalMask()).reshape([L, L]);
  // every Array argument is consumed (jax-js' ownership rules): a value used twice is passed as .ref the first time
  const layerNorm = (t: Arr, wt: Arr, b: Arr): Arr => {
    const xc = t.ref.sub(np.mean(t, -1, { keepdims: true }));
    const inv = np.sqrt(np.mean(xc.ref.mul(xc.ref), -1, { keepdims: true }).add(EPS));
    return xc.div(inv).mul(wt).add(b);
  };
  const linear = (t: Arr, p: P, name: string): Arr => np.matmul(t, p[`${name}.weight`]!.transpose()).add(p[`${name}.bias`]!);
  const heads = (t: Arr): Arr => t.reshape([B, L, NH, DH]).transpose([0, 2, 1, 3]);
  const lossFn = (p: P, xs: Arr, ys: Arr, m: Arr): Arr => {
    const h = layerNorm(xs.ref, p["ln1.weight"]!, p["ln1.bias"]!);
    const q = heads(linear(h.ref, p, "attn.q")), k = heads(linear(h.ref, p, "attn.k")), v = heads(linear(h, p, "attn.v"));
    const P = nn.softmax(np.matmul(q, k.transpose([0, 1, 3, 2])).mul(1 / Math.sqrt(DH)).add(m), -1);
    const o = np.matmul(P, v).transpose([0, 2, 1, 3]).reshape([B, L, D]);
    const x1 = xs.add(linear(o, p, "attn.proj"));
    const z = linear(layerNorm(x1.ref, p["ln2.weight"]!, p["ln2.bias"]!), p, "mlp.fc1");
    const x2 = x1.add(linear(nn.gelu(z, { approximate: false }), p, "mlp.fc2"));
    return nn.logSoftmax(linear(x2, p, "head"), -1).mul(ys).sum().mul(-1 / (B * L));
  };
  const lr = w.lr;
  const vg = jax.valueAndGrad(lossFn as any) as unknown as (p: P, xs: Arr, ys: Arr, m: Arr) => [Arr, P];
  const gradFn = jax.jit((p: P, xs: Arr, ys: Arr, m: Arr) => vg(p, xs, ys, m)) as unknown as (p: P, xs: Arr, ys: Arr, m: Arr) => [Arr, P];
  const stepFn = jax.jit((p: P, xs: Arr, ys: Arr, m: Arr) => {
    const [loss, g] = vg(tree.ref(p), xs, ys, m);
    const next: P = {};
    for (const k of names) next[k] = p[k]!.sub(g[k]!.mul(lr));
    return [loss, next];
  }) as unknown as (p: P, xs: Arr, ys: Arr, m: Arr) => [Arr, P];
  return {
    version: packageVersion("@jax-js/jax"),
    note: `init("cpu","wasm"), defaultDevice("wasm"), jit(valueAndGrad + SGD); attention written out with np.matmul + a −1e9 causal mask + nn.softmax, nn.gelu({ approximate: false }); one thread`,
    lossAndGrad: () => {
      const [loss, g] = gradFn(tree.ref(params), x.ref, y.ref, mask.ref);
      const grads: Params = {};
      for (const k of names) grads[k] = Float32Array.from(g[k]!.dataSync() as Float32Array);
      return { loss: (loss.dataSync() as Float32Array)[0]!, grads };
    },
    step: () => {
      const [loss, next] = stepFn(params, x.ref, y.ref, mask.ref);
      params = next;
      return (loss.dataSync() as Float32Array)[0]!;
    },
    params: () => {
      const out: Params = {};
      for (const k of names) out[k] = Float32Array.from(params[k]!.ref.dataSync() as Float32Array);
      return out;
    },
  };
}
