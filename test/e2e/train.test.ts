/**
 * Training on real data with the committed generated modules and plain SGD (`model.step`):
 * the seed net on breast cancer (≥ 95 % held-out accuracy) and the digits MLP (≥ 93 %).
 * Everything is seeded (split, initialisation, per-epoch shuffle), so every run is the same.
 */
import { describe, expect, it } from "vitest";
import { Batcher, loadBreastCancer, loadDigits, shuffledIndices, type Dataset } from "../../examples/data.js";
import { accuracy, loadGenerated, predict, train } from "../support/data.js";

/** Mean and population std of column f. */
function columnStats(d: Dataset, f: number): { mean: number; std: number } {
  let s = 0;
  for (let r = 0; r < d.rows; r++) s += d.x[r * d.features + f]!;
  const mean = s / d.rows;
  let q = 0;
  for (let r = 0; r < d.rows; r++) q += (d.x[r * d.features + f]! - mean) ** 2;
  return { mean, std: Math.sqrt(q / d.rows) };
}

describe("examples/data.ts", () => {
  it("splits breast cancer 80/20, deterministically, standardised on the training rows only", () => {
    const a = loadBreastCancer({ seed: 0 });
    const b = loadBreastCancer({ seed: 0 });
    expect([a.train.rows, a.test.rows, a.train.features, a.train.targets]).toEqual([455, 114, 30, 1]);
    expect(a.train.x).toEqual(b.train.x);
    expect(a.test.sourceRows).toEqual(b.test.sourceRows);
    expect(loadBreastCancer({ seed: 1 }).test.sourceRows).not.toEqual(a.test.sourceRows);
    // the two splits partition the 569 rows
    const all = [...a.train.sourceRows, ...a.test.sourceRows].sort((p, q) => p - q);
    expect(all).toEqual(Array.from({ length: 569 }, (_, i) => i));
    // 212 malignant, 357 benign in total
    const benign = [...a.train.labels, ...a.test.labels].filter((l) => l === 1).length;
    expect(benign).toBe(357);
    for (let f = 0; f < 30; f++) {
      const s = columnStats(a.train, f);
      expect(Math.abs(s.mean)).toBeLessThan(1e-12);
      expect(Math.abs(s.std - 1)).toBeLessThan(1e-12);
    }
    // the held-out rows were scaled with the training statistics, not their own
    const heldOut = Array.from({ length: 30 }, (_, f) => columnStats(a.test, f));
    expect(heldOut.some((s) => Math.abs(s.mean) > 1e-3)).toBe(true);
  });

  it("scales digits by 1/16 with one-hot targets", () => {
    const { train, test } = loadDigits({ seed: 0 });
    expect([train.rows, test.rows, train.features, train.targets, train.classes]).toEqual([1438, 359, 64, 10, 10]);
    expect(Math.min(...train.x)).toBe(0);
    expect(Math.max(...train.x)).toBe(1);
    for (let r = 0; r < train.rows; r++) {
      const row = train.y.subarray(r * 10, r * 10 + 10);
      expect(row.reduce((p, q) => p + q)).toBe(1);
      expect(row[train.labels[r]!]).toBe(1);
    }
  });

  it("shuffles with a seeded Fisher–Yates permutation", () => {
    const p = shuffledIndices(100, 7);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(shuffledIndices(100, 7)).toEqual(p);
    expect(shuffledIndices(100, 8)).not.toEqual(p);
  });

  it("fills preallocated fixed-size batches: drop, wrap and pad the last partial batch", () => {
    const { test } = loadBreastCancer({ seed: 0 }); // 114 rows = 3 × 32 + 18
    const batcher = new Batcher(test, 32, "float32");
    expect(batcher.batch.x).toBeInstanceOf(Float32Array);
    expect(batcher.batch.x.length).toBe(32 * 30);
    expect(new Batcher(test, 32, "float64").batch.y).toBeInstanceOf(Float64Array);

    const seen = (remainder: "drop" | "wrap" | "pad") => {
      const rows: number[][] = [];
      for (const b of batcher.epoch({ remainder, shuffleSeed: 3 })) {
        expect(b).toBe(batcher.batch); // the same buffers, refilled
        rows.push([...b.index.subarray(0, b.rows)]);
      }
      return rows;
    };
    expect(seen("drop").map((r) => r.length)).toEqual([32, 32, 32]);
    const wrap = seen("wrap");
    expect(wrap.map((r) => r.length)).toEqual([32, 32, 32, 32]);
    expect(wrap[3]!.slice(18)).toEqual(wrap[0]!.slice(0, 14)); // wrapped around to the start of the epoch
    const pad = seen("pad");
    expect(pad.map((r) => r.length)).toEqual([32, 32, 32, 18]);
    expect(new Set(pad.flat()).size).toBe(114);
    // the padding rows are zero, and their index is −1
    expect([...batcher.batch.index.subarray(18)].every((i) => i === -1)).toBe(true);
    expect(batcher.batch.x.subarray(18 * 30).every((v) => v === 0)).toBe(true);
    // batch contents are the dataset rows
    const r = batcher.batch.index[5]!;
    expect(batcher.batch.x.subarray(5 * 30, 6 * 30)).toEqual(Float32Array.from(test.x.subarray(r * 30, r * 30 + 30)));
  });
});

describe("training with plain SGD on real data", () => {
  it("seed net: breast cancer, ≥ 95 % held-out accuracy", async () => {
    const { spec, createModel } = await loadGenerated("seed-net");
    const { train: trainSet, test } = loadBreastCancer({ seed: 0 });
    const batchSize = spec.inputs.x![0]!;
    expect(spec.inputs.x).toEqual([batchSize, trainSet.features]);
    const model = createModel({ seed: 0 });

    // 20 epochs × 14 batches of 32 = 280 steps at the model's lr (0.1)
    const losses = train(model, new Batcher(trainSet, batchSize, "float32"), { epochs: 20, seed: 0 });
    expect(losses.at(-1)!).toBeLessThan(0.5 * losses[0]!);

    const acc = accuracy(predict(model, test, batchSize, "float32", "yhat"), test);
    expect(acc).toBeGreaterThanOrEqual(0.95);
  }, 60_000);

  it("digits MLP: ≥ 93 % held-out accuracy", async () => {
    const { spec, createModel } = await loadGenerated("digits-mlp");
    const { train: trainSet, test } = loadDigits({ seed: 0 });
    const batchSize = spec.inputs.x![0]!;
    expect(spec.inputs.x).toEqual([batchSize, trainSet.features]);
    expect(spec.outputs.probs).toEqual([batchSize, 10]);
    const model = createModel({ seed: 0 });

    // 30 epochs × 22 batches of 64 = 660 steps at the model's lr (0.1)
    const losses = train(model, new Batcher(trainSet, batchSize, "float32"), { epochs: 30, seed: 0 });
    expect(losses.at(-1)!).toBeLessThan(0.5 * losses[0]!);

    const acc = accuracy(predict(model, test, batchSize, "float32", "probs"), test);
    expect(acc).toBeGreaterThanOrEqual(0.93);
  }, 60_000);
});
