// The benchmark's workloads: three fixed-shape MLPs, float32, plain SGD (lr 0.01), one fixed batch each.
// Every contender trains the same network from the same initial parameters (flatgrad's, copied) on the
// same batch, so that their losses and gradients can be compared before they are timed.
import { mulberry32 } from "../examples/data.js";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

export type WorkloadId = "w1" | "w2" | "w3" | "w4";
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
  /** [batch × out]: 0/1 labels for BCE, one-hot rows for softmax CE. */
  y: Float32Array;
}

export interface ParamSpec {
  name: string;
  shape: number[];
}

/** W1 [h1, in], b1 [h1], W2 [h2, h1], … in the order flatgrad declares them. */
export function paramSpecs(w: Workload): ParamSpec[] {
  if (w.cnn) return w.cnn.params;
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
