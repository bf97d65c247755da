/**
 * The training page (examples/web) in a real browser: built with Vite (the flatgrad plugin
 * compiling the models at build start), served by `vite preview` with the page's COOP/COEP
 * headers, and driven in Debian's Chromium by playwright-core. The page loads with no console
 * error, is cross-origin isolated, trains in its Worker with the SIMD kernels, the loss falls,
 * and digits drawn with the mouse are classified correctly. The screenshot is saved to
 * test/.artifacts/web-page.png (docs/web-page.png in the README is a copy of one).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import type { PreviewServer } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadGenerated } from "../support/data.js";
import { ROOT } from "../support/helpers.js";
import { launchChromium } from "../support/browser.js";

const CONFIG = path.join(ROOT, "examples/web/vite.config.ts");
export const ARTIFACTS = path.join(ROOT, "test/.artifacts");

interface PageState {
  engine?: string;
  steps: number;
  losses: { step: number; loss: number }[];
  accuracies: { step: number; accuracy: number }[];
  stepsPerSecond?: number;
  done: boolean;
  prediction?: { digit: number; probs: number[] };
  predictions: number;
  errors: string[];
}
const pageState = (page: Page) => page.evaluate(() => (globalThis as unknown as { flatgrad: PageState }).flatgrad);

/** Draw a polyline on the pad with the mouse; `points` in [-1, 1]² of the pad's centre square. */
async function draw(page: Page, points: [number, number][]) {
  await page.click("#clear");
  const box = (await page.locator("#pad").boundingBox())!;
  const [cx, cy, r] = [box.x + box.width / 2, box.y + box.height / 2, box.width * 0.4];
  const before = (await pageState(page)).predictions;
  await page.mouse.move(cx + r * points[0]![0], cy + r * points[0]![1]);
  await page.mouse.down();
  for (const [x, y] of points.slice(1)) await page.mouse.move(cx + r * x, cy + r * y, { steps: 4 });
  await page.mouse.up();
  await page.waitForFunction((n) => (globalThis as unknown as { flatgrad: PageState }).flatgrad.predictions > n, before);
  return (await pageState(page)).prediction!;
}

const ellipse = Array.from({ length: 41 }, (_, i): [number, number] => [0.55 * Math.cos((2 * Math.PI * i) / 40), 0.9 * Math.sin((2 * Math.PI * i) / 40)]);
const seven: [number, number][] = [[-0.6, -0.8], [0.6, -0.8], [0.1, 0.1], [-0.1, 0.9]];

describe("the training page in Chromium", () => {
  let dir = "";
  let server: PreviewServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "flatgrad-web-"));
    const { build, preview } = await import("vite");
    const outDir = path.join(dir, "dist");
    await build({ configFile: CONFIG, logLevel: "warn", build: { outDir, emptyOutDir: true } });
    server = await preview({ configFile: CONFIG, logLevel: "warn", build: { outDir }, preview: { host: "127.0.0.1", port: 0, strictPort: false } });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 640 } });
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on("response", (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });
    await page.goto(server.resolvedUrls!.local[0]!);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("trains in its Worker with the SIMD kernels, cross-origin isolated, and the loss falls", async () => {
    await page.waitForFunction(() => (globalThis as unknown as { flatgrad: PageState }).flatgrad.done, null, { timeout: 90_000 });
    const s = await pageState(page);
    expect(s.errors).toEqual([]);
    expect(await page.evaluate(() => (globalThis as unknown as { crossOriginIsolated: boolean }).crossOriginIsolated)).toBe(true);
    expect(s.engine).toBe("wasm-simd");
    expect(await page.textContent("#engine")).toBe("wasm-simd");
    // the training ran in the Worker: the page's one worker is the training script
    expect(page.workers().map((w) => path.basename(new URL(w.url()).pathname))).toEqual([expect.stringMatching(/^train\.worker-.*\.js$/)]);
    expect(s.steps).toBeGreaterThan(800);
    const [first, last] = [s.losses[0]!.loss, s.losses.at(-1)!.loss];
    expect(last).toBeLessThan(first / 10);
    expect(s.accuracies.at(-1)!.accuracy).toBeGreaterThan(0.93);
    // steps per second: the page's (Chromium, in the Worker) against Node's, same module, same batches' shapes
    const mod = await loadGenerated("digits-mlp");
    const m = await mod.createModelAsync({ seed: 0 });
    const [x, y] = [new Float32Array(64 * 64).fill(0.5), new Float32Array(64 * 10).fill(0.1)];
    for (let i = 0; i < 100; i++) m.step({ x, y });
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) m.step({ x, y });
    const node = 1000 / ((performance.now() - t0) / 1000);
    console.log(`digits-mlp steps per second: Chromium ${Math.round(s.stepsPerSecond!)} (Worker, ${s.engine}), Node ${Math.round(node)} (${m.engine})`);
  });

  it("classifies digits drawn with the mouse, shows the probabilities, and logs no console error", async () => {
    const zero = await draw(page, ellipse);
    expect(zero.digit).toBe(0);
    expect(zero.probs.reduce((a, b) => a + b)).toBeCloseTo(1, 4);
    expect(await page.textContent("#prediction")).toBe("0");
    expect(await page.locator("#bars .bar").count()).toBe(10);
    const s7 = await draw(page, seven);
    expect(s7.digit, JSON.stringify(s7.probs)).toBe(7);
    await draw(page, ellipse);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, "web-page.png") });
    expect(problems).toEqual([]);
  });
});
