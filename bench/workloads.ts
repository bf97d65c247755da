// The benchmark's workloads: three fixed-shape MLPs, float32, plain SGD (lr 0.01), one fixed batch each.
// Every contender trains the same network from the same initial parameters (flatgrad's, copied) on the
// same batch, so that their losses and gradients can be compared before they are timed.
import { mulberry32 } from "../examples/data.js";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

export type WorkloadId = "w1" | "w2" | "w3" | "w4" | "w5";
export type LossKind = "bce" | "softmaxCE";

export interface Workload {
  id: WorkloadId;
  /** Short name for tables. */
  title: string;
  /** The network, as the issue writes it. */
  network: string;
  /** Rows per batch. */
  batch: number;
  /** Layer widths, input first: [30, 16, 1] is 30 → 16 → 1. Every hidden layer is ReLU. */
  sizes: number[];
  loss: LossKind;
  lr: number;
  /** Seed of flatgrad's `createModel`, which every other contender copies. */
  seed: number;
  /** Seed of the random batch. */
  dataSeed: number;
  /** A convolutional network (W4): its input's shape [N, C, H, W] (sizes[0] is C·H·W), its params and its step's FLOPs, which are not an MLP's. */
  cnn?: { input: number[]; params: ParamSpec[]; flops: number; forwardFlops: number };
  /**
   * A sequence model (W5): its input's shape, the shape of its int32 labels, its params and its step's
   * FLOPs; `noise` names the tensors whose reference gradient is rounding noise (their true value is 0),
   * which the numeric check judges against the scale of all gradients (or params) instead of their own.
   */
  seq?: { input: number[]; labels: number[]; params: ParamSpec[]; flops: number; noise: { names: string[]; why: string } };
}

export const WORKLOADS: Record<WorkloadId, Workload> = {
  w1: {
    id: "w1",
    title: "W1 seed net",
    network: "x[32,30] → 16 ReLU → 1, sigmoid + BCE",
    batch: 32,
    sizes: [30, 16, 1],
    loss: "bce",
    lr: 0.01,
    seed: 1,
    dataSeed: 101,
  },
  w2: {
    id: "w2",
    title: "W2 digits MLP",
    network: "x[64,64] → 128 ReLU → 10, softmax CE",
    batch: 64,
    sizes: [64, 128, 10],
    loss: "softmaxCE",
    lr: 0.01,
    seed: 2,
    dataSeed: 102,
  },
  w3: {
    id: "w3",
    title: "W3 mnist MLP",
    network: "x[128,784] → 256 ReLU → 128 ReLU → 10, softmax CE",
    batch: 128,
    sizes: [784, 256, 128, 10],
    loss: "softmaxCE",
    lr: 0.01,
    seed: 3,
    dataSeed: 103,
  },
  w4: {
    id: "w4",
    title: "W4 LeNet",
    network: "x[64,1,28,28] → conv 1→8 5×5 ReLU → maxpool 2 → conv 8→16 5×5 ReLU → maxpool 2 → 256 → 10, softmax CE",
    batch: 64,
    sizes: [784, 10],
    loss: "softmaxCE",
    lr: 0.01,
    seed: 4,
    dataSeed: 104,
    cnn: {
      input: [64, 1, 28, 28],
      params: [
        { name: "W1", shape: [8, 1, 5, 5] },
        { name: "b1", shape: [8] },
        { name: "W2", shape: [16, 8, 5, 5] },
        { name: "b2", shape: [16] },
        { name: "W3", shape: [10, 256] },
        { name: "b3", shape: [10] },
      ],
      // 2·(output cells)·(C·kh·kw) per conv product: conv1 forward and dW (x needs no gradient), conv2 forward, dW and dX, the linear layer's three
      flops: 2 * (2 * 64 * 24 * 24 * 8 * 25) + 3 * (2 * 64 * 8 * 8 * 16 * 200) + 3 * (2 * 64 * 256 * 10),
      forwardFlops: 2 * 64 * 24 * 24 * 8 * 25 + 2 * 64 * 8 * 8 * 16 * 200 + 2 * 64 * 256 * 10,
    },
  },
  w5: {
    id: "w5",
    title: "W5 transformer block",
    network:
      "x[8,32,64] → layerNorm → q, k, v linears → 4 heads of 16 → causal attention → merge → linear → residual → layerNorm → 64→256 GELU → 64 → residual → 10, CE on [8,32] int32 labels",
    batch: 8,
    sizes: [64, 10],
    loss: "softmaxCE",
    lr: 0.01,
    seed: 5,
    dataSeed: 105,
    seq: {
      input: [8, 32, 64],
      labels: [8, 32],
      params: [
        ...["ln1"].flatMap((p) => [{ name: `${p}.weight`, shape: [64] }, { name: `${p}.bias`, shape: [64] }]),
        ...["attn.q", "attn.k", "attn.v", "attn.proj"].flatMap((p) => [{ name: `${p}.weight`, shape: [64, 64] }, { name: `${p}.bias`, shape: [64] }]),
        { name: "ln2.weight", shape: [64] },
        { name: "ln2.bias", shape: [64] },
        { name: "mlp.fc1.weight", shape: [256, 64] },
        { name: "mlp.fc1.bias", shape: [256] },
        { name: "mlp.fc2.weight", shape: [64, 256] },
        { name: "mlp.fc2.bias", shape: [64] },
        { name: "head.weight", shape: [10, 64] },
        { name: "head.bias", shape: [10] },
      ],
      // 2·m·n·k per product, 256 rows per linear: forward, dW and dX of every linear (q, k and v's dX feed
      // ln1's parameters, so none is skipped), Σ in·out = 4·64·64 + 2·64·256 + 64·10 = 49,792; attention per
      // (sequence, head): q·kᵀ and P·v forward, dP = dO·vᵀ, dv = Pᵀ·dO, dq = dS·k, dk = dSᵀ·q backward, each
      // 2·32·32·16, counted in full although the causal loop bounds skip the upper triangle. 82.8 MFLOP.
      flops: 3 * (2 * 256 * 49_792) + 6 * (8 * 4 * 2 * 32 * 32 * 16),
      noise: {
        names: ["attn.k.bias"],
        why: "softmax ignores a constant added to a row of scores, and k's bias adds q_i·b_k to every score of row i: its gradient is 0, computed as rounding noise",
      },
    },
  },
};

export const WORKLOAD_IDS = Object.keys(WORKLOADS) as WorkloadId[];

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_DIR = dirname(BENCH_DIR);
/** Where the bench compiles its models (gitignored). */
export const WORK_DIR = join(BENCH_DIR, ".work");

export function modelFile(id: WorkloadId): string {
  return join(BENCH_DIR, "models", `${id}.model.ts`);
}
export function generatedFile(id: WorkloadId): string {
  return join(WORK_DIR, `${id}.ts`);
}

/** Parameters or gradients by flatgrad's names: W1, b1, W2, b2, … (W shaped [out, in], row-major). */
export type Params = Record<string, Float32Array>;

export interface Batch {
  /** [batch × sizes[0]] */
  x: Float32Array;
  /** [batch × out]: 0/1 labels for BCE, one-hot rows for softmax CE; a sequence model's int32 class labels. */
  y: Float32Array | Int32Array;
}

export interface ParamSpec {
  name: string;
  shape: number[];
}

/** W1 [h1, in], b1 [h1], W2 [h2, h1], … in the order flatgrad declares them. */
export function paramSpecs(w: Workload): ParamSpec[] {
  if (w.cnn) return w.cnn.params;
  if (w.seq) return w.seq.params;
  const out: ParamSpec[] = [];
  for (let l = 1; l < w.sizes.length; l++) {
    out.push({ name: `W${l}`, shape: [w.sizes[l]!, w.sizes[l - 1]!] });
    out.push({ name: `b${l}`, shape: [w.sizes[l]!] });
  }
  return out;
}


/** The workload's batch: x ~ U(−1, 1), labels drawn uniformly (0/1 for BCE, a one-hot class for softmax CE). */
export function makeBatch(w: Workload): Batch {
  const rand = mulberry32(w.dataSeed);
  if (w.seq) {
    // x ~ U(−1, 1); labels uniform over the classes
    const x = new Float32Array(w.seq.input.reduce((a, b) => a * b, 1));
    for (let i = 0; i < x.length; i++) x[i] = 2 * rand() - 1;
    const classes = w.sizes[w.sizes.length - 1]!;
    const y = new Int32Array(w.seq.labels.reduce((a, b) => a * b, 1));
    for (let i = 0; i < y.length; i++) y[i] = Math.min(classes - 1, Math.floor(rand() * classes));
    return { x, y };
  }
  const inDim = w.sizes[0]!;
  const outDim = w.sizes[w.sizes.length - 1]!;
  const x = new Float32Array(w.batch * inDim);
  for (let i = 0; i < x.length; i++) x[i] = 2 * rand() - 1;
  const y = new Float32Array(w.batch * outDim);
  for (let i = 0; i < w.batch; i++) {
    if (w.loss === "bce") y[i] = rand() < 0.5 ? 0 : 1;
    else y[i * outDim + Math.min(outDim - 1, Math.floor(rand() * outDim))] = 1;
  }
  return { x, y };
}

/**
 * Floating-point operations of one training step, counting 2·m·n·k per matmul: per layer the forward
 * product, dW, and dX, except that the first layer's dX is not needed.
 */
export function stepFlops(w: Workload): number {
  if (w.cnn) return w.cnn.flops;
  if (w.seq) return w.seq.flops;
  let flops = 0;
  for (let l = 1; l < w.sizes.length; l++) {
    const mnk = 2 * w.batch * w.sizes[l]! * w.sizes[l - 1]!;
    flops += l === 1 ? 2 * mnk : 3 * mnk;
  }
  return flops;
}

export function copyParams(p: Params): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(p)) out[k] = Float32Array.from(v);
  return out;
}
