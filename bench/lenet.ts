// W4 (LeNet) in tfjs and @jax-js/jax, from flatgrad's initial parameters: the same network as
// bench/models/w4.model.ts. tfjs runs NHWC (its conv layout on CPU and wasm): x [64,28,28,1] holds the
// same numbers as flatgrad's [64,1,28,28]; filters [kh, kw, in, out]; the pooled [64,4,4,16] is put back
// in NCHW order before flattening, so W3 sees flatgrad's 256 features. jax-js runs NCHW, as flatgrad.
import type { Batch, Params, Workload } from "./workloads.js";
import type { Contender } from "./contenders.js";
import { packageVersion, tfjsTraining } from "./contenders.js";

type TF = typeof import("@tensorflow/tfjs-core");
type T = import("@tensorflow/tfjs-core").Tensor;

/** Permute a row-major tensor of `shape` by `perm` (out axis i is in axis perm[i]). */
function permute(a: Float32Array, shape: number[], perm: number[]): Float32Array {
  const out = new Float32Array(a.length);
  const st = shape.map((_, i) => shape.slice(i + 1).reduce((x, y) => x * y, 1));
  const os = perm.map((p) => shape[p]!);
  const ost = os.map((_, i) => os.slice(i + 1).reduce((x, y) => x * y, 1));
  for (let o = 0; o < a.length; o++) {
    let src = 0;
    for (let d = 0; d < os.length; d++) src += (Math.floor(o / ost[d]!) % os[d]!) * st[perm[d]!]!;
    out[o] = a[src]!;
  }
  return out;
}
const inverse = (perm: number[]) => perm.map((_, i) => perm.indexOf(i));

export async function tfjsLenet(tf: TF, w: Workload, init: Params, batch: Batch, customGrad: boolean, note: string, version: string): Promise<Contender> {
  // layouts: conv filters OIHW → HWIO; W3 [out, in] → [in, out]
  const layout: Record<string, { shape: number[]; perm: number[] }> = {
    W1: { shape: [8, 1, 5, 5], perm: [2, 3, 1, 0] },
    W2: { shape: [16, 8, 5, 5], perm: [2, 3, 1, 0] },
    W3: { shape: [10, 256], perm: [1, 0] },
  };
  const vars: import("@tensorflow/tfjs-core").Variable[] = [];
  for (const { name, shape } of w.cnn!.params) {
    const l = layout[name];
    const data = l ? permute(init[name]!, l.shape, l.perm) : init[name]!;
    vars.push(tf.variable(tf.tensor(data, l ? l.perm.map((p) => l.shape[p]!) : shape), true, name));
  }
  const [W1, b1, W2, b2, W3, b3] = vars as unknown as [T, T, T, T, T, T];
  const x = tf.tensor4d(batch.x, [64, 28, 28, 1]);
  const y = tf.tensor2d(batch.y, [64, 10]);
  // the workaround: tfjs-backend-wasm has no Conv2DBackpropFilter, so dW is computed as a conv2d of x (batch ↔ channels) with dy
  const conv = customGrad
    ? (tf.customGrad(((xs: T, f: T, save: (ts: T[]) => void) => {
        save([xs, f]);
        return {
          value: tf.conv2d(xs as import("@tensorflow/tfjs-core").Tensor4D, f as import("@tensorflow/tfjs-core").Tensor4D, 1, "valid"),
          gradFunc: (dy: T, saved: T[]) => {
            const [xi, fi] = saved as [import("@tensorflow/tfjs-core").Tensor4D, import("@tensorflow/tfjs-core").Tensor4D];
            const d = dy as import("@tensorflow/tfjs-core").Tensor4D;
            const dx = tf.conv2dTranspose(d, fi, xi.shape, 1, "valid");
            // dW[kh,kw,c,o] = Σ_n,i,j x[n,i+kh,j+kw,c]·dy[n,i,j,o]: x as [C,H,W,N] convolved with dy as [OH,OW,N,O]
            const dW = tf.transpose(tf.conv2d(tf.transpose(xi, [3, 1, 2, 0]) as import("@tensorflow/tfjs-core").Tensor4D, tf.transpose(d, [1, 2, 0, 3]) as import("@tensorflow/tfjs-core").Tensor4D, 1, "valid"), [1, 2, 0, 3]);
            return [dx, dW];
          },
        };
      }) as any) as unknown as (xs: T, f: T) => T)
    : (xs: T, f: T) => tf.conv2d(xs as import("@tensorflow/tfjs-core").Tensor4D, f as import("@tensorflow/tfjs-core").Tensor4D, 1, "valid");
  const block = (h: T, Wc: T, b: T) => tf.maxPool(tf.relu(tf.add(conv(h, Wc), b)) as import("@tensorflow/tfjs-core").Tensor4D, 2, 2, "valid");
  const logits = (): T => {
    const p2 = block(block(x, W1, b1), W2, b2); // [64,4,4,16]
    const flat = tf.reshape(tf.transpose(p2, [0, 3, 1, 2]), [64, 256]);
    return tf.add(tf.matMul(flat, W3), b3);
  };
  const lossFn = () => tf.losses.softmaxCrossEntropy(y, logits()) as import("@tensorflow/tfjs-core").Scalar;
  const back = (name: string, data: Float32Array): Float32Array => {
    const l = layout[name];
    return l ? permute(data, l.perm.map((p) => l.shape[p]!), inverse(l.perm)) : Float32Array.from(data);
  };
  return {
    version,
    note: `${note}; NHWC, tf.conv2d + tf.maxPool${customGrad ? "; tf.customGrad: dX = conv2dTranspose, dW = conv2d(xᵀ, dyᵀ)" : ""}`,
    ...tfjsTraining(tf, lossFn, vars, w.lr, back),
    forward: () => tf.tidy(() => logits()).dataSync()[0]!,
  };
}

export async function jaxLenet(w: Workload, init: Params, batch: Batch): Promise<Contender> {
  const jax = await import("@jax-js/jax");
  const { numpy: np, nn, tree, lax } = jax;
  type Arr = InstanceType<typeof jax.Array>;
  const devices = await jax.init("cpu", "wasm");
  if (!devices.includes("wasm")) throw new Error(`@jax-js/jax: no wasm device (init gave ${JSON.stringify(devices)})`);
  jax.defaultDevice("wasm");
  type P = Record<string, Arr>;
  const names = w.cnn!.params.map((p) => p.name);
  let params: P = {};
  for (const { name, shape } of w.cnn!.params) params[name] = np.array(Float32Array.from(init[name]!)).reshape(shape);
  const x = np.array(Float32Array.from(batch.x)).reshape([64, 1, 28, 28]);
  const y = np.array(Float32Array.from(batch.y)).reshape([64, 10]);
  // conv (NCHW, OIHW) + bias → relu → 2×2 max pool as a reshape and a max over the two window axes
  const block = (h: Arr, Wc: Arr, b: Arr, C: number, H: number): Arr => {
    const a = nn.relu(lax.conv(h, Wc, [1, 1], "VALID").add(b.reshape([1, C, 1, 1])));
    return np.max(a.reshape([64, C, H / 2, 2, H / 2, 2]), [3, 5]);
  };
  const logitsOf = (p: P, xs: Arr): Arr => {
    const p2 = block(block(xs, p.W1!, p.b1!, 8, 24), p.W2!, p.b2!, 16, 8);
    return np.matmul(p2.reshape([64, 256]), p.W3!.transpose()).add(p.b3!);
  };
  const lossFn = (p: P, xs: Arr, ys: Arr): Arr => nn.logSoftmax(logitsOf(p, xs)).mul(ys).sum().mul(-1 / 64);
  const lr = w.lr;
  const vg = jax.valueAndGrad(lossFn as any) as unknown as (p: P, xs: Arr, ys: Arr) => [Arr, P];
  const gradFn = jax.jit((p: P, xs: Arr, ys: Arr) => vg(p, xs, ys)) as unknown as (p: P, xs: Arr, ys: Arr) => [Arr, P];
  const stepFn = jax.jit((p: P, xs: Arr, ys: Arr) => {
    const [loss, g] = vg(tree.ref(p), xs, ys);
    const next: P = {};
    for (const k of names) next[k] = p[k]!.sub(g[k]!.mul(lr));
    return [loss, next];
  }) as unknown as (p: P, xs: Arr, ys: Arr) => [Arr, P];
  const fwdFn = jax.jit((p: P, xs: Arr) => logitsOf(p, xs)) as unknown as (p: P, xs: Arr) => Arr;
  return {
    version: packageVersion("@jax-js/jax"),
    note: `init("cpu","wasm"), defaultDevice("wasm"), jit(valueAndGrad + SGD); lax.conv NCHW, max pool as reshape + max; one thread`,
    lossAndGrad: () => {
      const [loss, g] = gradFn(tree.ref(params), x.ref, y.ref);
      const grads: Params = {};
      for (const k of names) grads[k] = Float32Array.from(g[k]!.dataSync() as Float32Array);
      return { loss: (loss.dataSync() as Float32Array)[0]!, grads };
    },
    step: () => {
      const [loss, next] = stepFn(params, x.ref, y.ref);
      params = next;
      return (loss.dataSync() as Float32Array)[0]!;
    },
    params: () => {
      const out: Params = {};
      for (const k of names) out[k] = Float32Array.from(params[k]!.ref.dataSync() as Float32Array);
      return out;
    },
    forward: () => (fwdFn(tree.ref(params), x.ref).dataSync() as Float32Array)[0]!,
  };
}
