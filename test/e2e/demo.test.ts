/**
 * The demo's runs (`npm run demo`, examples/demo.ts) reach their held-out accuracy targets:
 * the seed net with SGD on breast cancer and the digits MLP with Adam, ≥ 96 % each, and the
 * digits CNN with AdamW (int32 labels, conv/batch norm/max-pool/dropout), ≥ 98.5 % (issue 12),
 * with the demo's own epochs, seeds, schedules and splits. And the curves it draws are a
 * well-formed SVG.
 */
import { describe, expect, it } from "vitest";
import type { Dataset } from "../../examples/data.js";
import { RUNS, curves, loadRun, train, type DemoRun } from "../../examples/demo.js";
import type { FitResult, TrainableModel } from "../../examples/training.js";

/**
 * How many held-out rows `model` classifies right, counted without the demo's Batcher and
 * predict: rows copied into float32 batches (the last one zero-padded), the class read from the
 * output (p ≥ 0.5 for one column, else the first largest score), compared with the labels.
 */
function heldOutRight(model: TrainableModel, data: Dataset, run: DemoRun): number {
  let right = 0;
  for (let start = 0; start < data.rows; start += run.batchSize) {
    const x = new Float32Array(run.batchSize * data.features);
    const rows = Math.min(run.batchSize, data.rows - start);
    x.set(data.x.subarray(start * data.features, (start + rows) * data.features));
    const out = model.forward({ x })[run.output]!;
    const width = out.length / run.batchSize;
    expect(width).toBe(data.targets);
    for (let i = 0; i < rows; i++) {
      const row = out.subarray(i * width, (i + 1) * width);
      const cls = width === 1 ? (row[0]! >= 0.5 ? 1 : 0) : row.indexOf(Math.max(...row));
      if (cls === data.labels[start + i]) right++;
    }
  }
  return right;
}

describe("npm run demo", () => {
  const results: { run: (typeof RUNS)[number]; result: FitResult }[] = [];

  it.each(RUNS)("$name with $optimizer: held-out accuracy ≥ its target", async (run) => {
    // keep the model the demo trains, to measure it here
    const loaded = await loadRun(run);
    let model: TrainableModel | undefined;
    const result = await train(run, undefined, { ...loaded, createModel: (o) => (model = loaded.createModel(o)) });
    results.push({ run, result });
    // the accuracy the demo reports is the trained model's, counted here row by row
    const test = run.data().test;
    expect(heldOutRight(model!, test, run) / test.rows).toBe(result.accuracy);
    expect(result.accuracy).toBeGreaterThanOrEqual(0.96); // the documented target, not the demo's own setting
    expect(result.accuracy).toBeGreaterThanOrEqual(run.target);
    if (run.name === "digits CNN") expect(result.accuracy).toBeGreaterThanOrEqual(0.985); // issue 12's documented target
    expect(result.logs).toHaveLength(run.epochs);
    expect(result.logs.at(-1)!.loss).toBeLessThan(0.5 * result.logs[0]!.loss);
    // seeded: a second run trains the same
    const again = await train(run);
    expect(again.logs.map((l) => [l.loss, l.testAccuracy])).toEqual(result.logs.map((l) => [l.loss, l.testAccuracy]));
  }, 120_000);

  it("draws the loss and accuracy curves as SVG", () => {
    expect(results).toHaveLength(RUNS.length);
    const svg = curves(results);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(2 * RUNS.length); // loss and accuracy per run
    expect(svg).toContain("target 96 %");
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
  });
});
