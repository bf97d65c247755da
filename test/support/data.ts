/** Test helpers for training on the real data sets: loading a committed generated module, SGD epochs, held-out accuracy. */
import { Batcher, type Dataset, type DType, type FloatArrayOf } from "../../examples/data.js";
import type { GeneratedModel, GeneratedModule } from "./helpers.js";

/**
 * Import a committed module `generated/<base>.ts`.
 *
 * The import is dynamic, by URL, on purpose: a static `import … from "../../generated/seed-net.js"`
 * pulls the generated file into `tsc -p tsconfig.json`, whose `noUncheckedIndexedAccess` the
 * generated code does not satisfy (it is checked on its own by tsconfig.generated.json).
 */
export async function loadGenerated(base: string): Promise<GeneratedModule> {
  return (await import(new URL(`../../generated/${base}.ts`, import.meta.url).href)) as GeneratedModule;
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

/** Predictions over padded fixed-size batches and accuracy: the demo's own, so tests and demo agree. */
export { accuracy, predict } from "../../examples/training.js";
