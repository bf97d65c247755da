/**
 * Training loops for the demo (and its test): epochs of `model.step` over shuffled fixed-size
 * batches, held-out accuracy after every epoch, and a progress callback.
 */
import { Batcher, type Dataset, type DType, type FloatArrayOf, type Split } from "./data.js";

/** The part of a generated model that training uses. */
export interface TrainableModel {
  forward(inputs: Record<string, Float32Array | Float64Array>): Record<string, Float32Array | Float64Array>;
  step(inputs: Record<string, Float32Array | Float64Array | Int32Array>, options?: { lr?: number }): number;
}

/** One epoch's record. */
export interface EpochLog {
  epoch: number;
  epochs: number;
  /** Mean training loss over the epoch's steps. */
  loss: number;
  /** Accuracy on the training rows and on the held-out rows after the epoch. */
  trainAccuracy: number;
  testAccuracy: number;
  /** Training steps per second in this epoch (model.step only). */
  stepsPerSecond: number;
}

export interface FitOptions<D extends DType> {
  dtype: D;
  batchSize: number;
  epochs: number;
  /** Seed of the per-epoch shuffles. */
  seed: number;
  /** The output holding probabilities (width 1) or class scores. */
  output: string;
  /** The name of an int32 labels input (`[batch]`, the class of each row) fed instead of the one-hot `y`. */
  labels?: string;
  /** A learning-rate schedule: the lr of an epoch (undefined: the model's configured lr). */
  lr?: (epoch: number) => number | undefined;
  onEpoch?: (log: EpochLog) => void;
}

export interface FitResult {
  logs: EpochLog[];
  /** Held-out accuracy at the end. */
  accuracy: number;
  steps: number;
  /** Wall time of the whole run, evaluation included. */
  seconds: number;
}

/** The predicted class of every row of `data`, by `forward` over batches (the last one padded). */
export function predict<D extends DType>(model: TrainableModel, data: Dataset, batchSize: number, dtype: D, output: string): Int32Array {
  const batcher = new Batcher(data, batchSize, dtype);
  const predicted = new Int32Array(data.rows).fill(-1);
  for (const batch of batcher.epoch({ remainder: "pad" })) {
    const out = model.forward({ x: batch.x as FloatArrayOf<D> })[output];
    if (!out) throw new Error(`forward returned no output "${output}"`);
    const width = out.length / batchSize;
    for (let i = 0; i < batch.rows; i++) {
      const row = batch.index[i]!;
      if (width === 1) predicted[row] = out[i]! >= 0.5 ? 1 : 0;
      else {
        let best = 0;
        for (let c = 1; c < width; c++) if (out[i * width + c]! > out[i * width + best]!) best = c;
        predicted[row] = best;
      }
    }
  }
  return predicted;
}

export function accuracy(predicted: Int32Array, data: Dataset): number {
  let right = 0;
  for (let r = 0; r < data.rows; r++) {
    if (predicted[r] === -1) throw new Error(`row ${r} was not predicted`);
    if (predicted[r] === data.labels[r]) right++;
  }
  return right / data.rows;
}

/** Train `model` on `split.train`, evaluating on both splits after every epoch. */
export function fit<D extends DType>(model: TrainableModel, split: Split, o: FitOptions<D>): FitResult {
  const start = performance.now();
  const batcher = new Batcher(split.train, o.batchSize, o.dtype);
  const logs: EpochLog[] = [];
  const labels = new Int32Array(o.batchSize);
  let steps = 0;
  for (let e = 0; e < o.epochs; e++) {
    const lr = o.lr?.(e);
    const options = lr === undefined ? undefined : { lr };
    let sum = 0;
    let n = 0;
    const t0 = performance.now();
    for (const batch of batcher.epoch({ shuffleSeed: o.seed * 100_003 + e, remainder: "drop" })) {
      if (o.labels) for (let i = 0; i < o.batchSize; i++) labels[i] = split.train.labels[batch.index[i]!]!;
      const loss = model.step(o.labels ? { x: batch.x, [o.labels]: labels } : { x: batch.x, y: batch.y }, options);
      if (!Number.isFinite(loss)) throw new Error(`epoch ${e + 1}, batch ${batch.number}: the loss is ${loss}`);
      sum += loss;
      n++;
    }
    const seconds = (performance.now() - t0) / 1000;
    steps += n;
    const log: EpochLog = {
      epoch: e + 1,
      epochs: o.epochs,
      loss: sum / n,
      trainAccuracy: accuracy(predict(model, split.train, o.batchSize, o.dtype, o.output), split.train),
      testAccuracy: accuracy(predict(model, split.test, o.batchSize, o.dtype, o.output), split.test),
      stepsPerSecond: n / Math.max(seconds, 1e-9),
    };
    logs.push(log);
    o.onEpoch?.(log);
  }
  return { logs, accuracy: logs.at(-1)?.testAccuracy ?? 0, steps, seconds: (performance.now() - start) / 1000 };
}
