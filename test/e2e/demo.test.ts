/**
 * The demo's runs (`npm run demo`, examples/demo.ts) reach their held-out accuracy targets:
 * the seed net with SGD on breast cancer and the digits MLP with Adam, ≥ 96 % each, with the
 * demo's own epochs, seeds and splits. And the curves it draws are a well-formed SVG.
 */
import { describe, expect, it } from "vitest";
import { RUNS, curves, train } from "../../examples/demo.js";
import type { FitResult } from "../../examples/training.js";

describe("npm run demo", () => {
  const results: { run: (typeof RUNS)[number]; result: FitResult }[] = [];

  it.each(RUNS)("$name with $optimizer: held-out accuracy ≥ 96 %", async (run) => {
    const result = await train(run);
    results.push({ run, result });
    expect(run.target).toBeGreaterThanOrEqual(0.96);
    expect(result.accuracy).toBeGreaterThanOrEqual(run.target);
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
