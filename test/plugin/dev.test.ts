/**
 * The Vite dev server with the flatgrad plugin, in Chromium: the page trains a model; an edit of
 * the model file that keeps every param's name and shape regenerates the module and hot-updates
 * it in place, keeping the trained params (the console says so); an edit of a file the model
 * imports that changes a shape regenerates it and reloads the page (the console says so). The
 * plugin never reacts to its own writes in generated/.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import type { ViteDevServer } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import vitePlugin from "../../src/plugin/vite.js";
import { launchChromium } from "../support/browser.js";
import { BROKEN, BROKEN_AT, fixtureProject, model, read, sizes, until } from "./project.js";

const PAGE = `import { createModel } from "../generated/tiny.ts";

const model = createModel({ seed: 1 });
const x = new Float32Array(32).map((_, i) => Math.sin(i * 1.7));
const y = new Float32Array(16);
for (let r = 0; r < 8; r++) y[r * 2 + (x[r * 4] > 0 ? 1 : 0)] = 1;
for (let i = 0; i < 30; i++) model.step({ x, y });
globalThis.app = { model, x, y, loaded: (globalThis.app?.loaded ?? 0) + 1 };
console.log("app ready: W1 has " + model.params.W1.length + " values");
`;

interface App {
  model: { params: Record<string, Float32Array>; step(i: object): number; engine: string };
  x: Float32Array;
  y: Float32Array;
}
const W1 = (page: Page) => page.evaluate(() => Array.from((globalThis as unknown as { app: App }).app.model.params.W1!));

describe("Vite dev server: regenerate on change, hot update keeping the trained params", () => {
  let dir = "";
  let server: ViteDevServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const consoleLines: string[] = [];
  const logged: string[] = [];

  beforeAll(async () => {
    dir = fixtureProject("flatgrad-dev-");
    writeFileSync(path.join(dir, "src/page.ts"), PAGE);
    writeFileSync(path.join(dir, "index.html"), `<!doctype html><html><head><link rel="icon" href="data:,"></head><body><script type="module" src="/src/page.ts"></script></body></html>`);
    const { createServer, createLogger } = await import("vite");
    const logger = createLogger("info");
    logger.info = (msg) => void logged.push(msg);
    server = await createServer({ root: dir, configFile: false, customLogger: logger, plugins: [vitePlugin()], server: { host: "127.0.0.1", port: 0 } });
    await server.listen();
    browser = await launchChromium();
    page = await browser.newPage();
    page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
    await page.goto(server.resolvedUrls!.local[0]!);
    await until("the page", () => consoleLines.some((l) => l.includes("app ready: W1 has 32 values")));
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("generated the module at server start, as the CLI would", () => {
    expect(read(dir, "generated/tiny.ts")).toContain("rate(options, 0.5)");
  });

  it("a model edit that keeps names and shapes: regenerated, hot-updated in place, trained params kept", async () => {
    const trained = await W1(page);
    writeFileSync(path.join(dir, "models/tiny.model.ts"), model(0.25));
    await until("the regenerated file", () => read(dir, "generated/tiny.ts").includes("rate(options, 0.25)"));
    const said = await until("the console", () => consoleLines.find((l) => l.includes("[flatgrad] tiny regenerated")));
    expect(said).toBe("info: [flatgrad] tiny regenerated: params and buffers keep their names and shapes: kept the trained params of 1 live model");
    // the same object, its params the trained ones (not a fresh init), now running the new code: a step moves them by lr 0.25
    expect(await W1(page)).toEqual(trained);
    const moved = await page.evaluate(() => {
      const { model, x, y } = (globalThis as unknown as { app: App }).app;
      const before = Array.from(model.params.W1!);
      const loss = model.step({ x, y });
      return { loss, changed: model.params.W1!.some((v, i) => v !== before[i]) };
    });
    expect(Number.isFinite(moved.loss) && moved.changed).toBe(true);
    expect(consoleLines.filter((l) => l.startsWith("log: app ready"))).toHaveLength(1); // no reload
  });

  it("a change to a file the model imports that changes a shape: regenerated, and the page reloads", async () => {
    writeFileSync(path.join(dir, "models/sizes.ts"), sizes(12));
    await until("the regenerated file", () => read(dir, "generated/tiny.ts").includes("W1: [12, 4]"));
    const said = await until("the console", () => consoleLines.find((l) => l.includes("reloading")));
    expect(said).toBe('info: [flatgrad] tiny regenerated: param "W1" is [12, 4], was [8, 4]: reloading (the trained params cannot be kept)');
    await until("the reloaded page", () => consoleLines.some((l) => l.includes("app ready: W1 has 48 values")));
    expect(consoleLines.filter((l) => /^(error|pageerror)/.test(l))).toEqual([]);
  });

  it("reacted to the two edits only, never to its own writes in generated/", () => {
    const changes = logged.filter((l) => l.includes("flatgrad: ") && / (changed|was added|was deleted)$/.test(l.replace(/\x1b\[[0-9;]*m/g, "")));
    expect(changes.map((l) => l.replace(/\x1b\[[0-9;]*m/g, "").replace(/^.*flatgrad: /, ""))).toEqual(["models/tiny.model.ts changed", "models/sizes.ts changed"]);
    expect(readFileSync(path.join(dir, "generated/tiny.ts"), "utf8")).toContain("rate(options, 0.25)");
  });

  it("a model error shows in Vite's overlay at the model file's line and column; the generated file stays", async () => {
    const before = read(dir, "generated/tiny.ts");
    writeFileSync(path.join(dir, "models/tiny.model.ts"), BROKEN);
    await page.waitForSelector("vite-error-overlay", { timeout: 60_000 });
    const text = await page.evaluate(() => (globalThis as unknown as { document: { querySelector(s: string): { shadowRoot: { textContent: string } } } }).document.querySelector("vite-error-overlay").shadowRoot.textContent);
    expect(text).toContain(`models/tiny.model.ts:${BROKEN_AT.line}:${BROKEN_AT.col} - error FG`);
    expect(text).toContain(`> ${BROKEN_AT.line} |`);
    expect(read(dir, "generated/tiny.ts")).toBe(before);
  });
});
