/** Test helpers for training on the real data sets: loading a committed generated module, SGD epochs, held-out accuracy. */
import { Batcher, type Dataset, type DType, type FloatArrayOf } from "../examples/data.js";
import type { GeneratedModel, GeneratedModule } from "./helpers.js";

/**
 * Import a committed module `generated/<base>.ts`.
 *
 * The import is dynamic, by URL, on purpose: a static `import … from "../generated/seed-net.js"`
 * pulls the generated file into `tsc -p tsconfig.json`, whose `noUncheckedIndexedAccess` the
 * generated code does not satisfy (it is checked on its own by tsconfig.generated.json).
 */
export async function loadGenerated(base: string): Promise<GeneratedModule> {
  return (await import(new URL(`../generated/${base}.ts`, import.meta.url).href)) as GeneratedModule;
}

/** Train for `epochs` epochs of plain `model.step` over whole shuffled batches; returns the mean loss of each epoch. */
export function train<D extends DType>(
  model: GeneratedModel,
  batcher: Batcher<D>,
  options: { epochs: number; seed: number; lr?: number },
): number[] {
  const means: number[] = [];
  for (let e = 0; e < options.epochs; e++) {
    let sum = 0;
    let n = 0;
    for (const batch of batcher.epoch({ shuffleSeed: options.seed * 100_003 + e, remainder: "drop" })) {
      const loss = model.step({ x: batch.x, y: batch.y }, options.lr === undefined ? undefined : { lr: options.lr });
      if (!Number.isFinite(loss)) throw new Error(`epoch ${e}, batch ${batch.number}: loss ${loss}`);
      sum += loss;
      n++;
    }
    means.push(sum / n);
  }
  return means;
}

/**
 * The predicted class of every row of `data`, by `model.forward` over fixed-size batches.
 * The last batch is padded with zero rows, and the predictions for those rows are ignored.
 * An output of width 1 is a probability (class 1 when ≥ 0.5); a wider one is per-class
 * scores (the class is the first maximum).
 */
export function predict<D extends DType>(model: GeneratedModel, data: Dataset, batchSize: number, dtype: D, output: string): Int32Array {
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

/** Fraction of rows whose prediction equals the label (every row must have been predicted). */
export function accuracy(predicted: Int32Array, data: Dataset): number {
  let right = 0;
  for (let r = 0; r < data.rows; r++) {
    if (predicted[r] === -1) throw new Error(`row ${r} was not predicted`);
    if (predicted[r] === data.labels[r]) right++;
  }
  return right / data.rows;
}
