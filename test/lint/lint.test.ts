/**
 * Lints (FGWnnn): one model per mistake, each warned at its model-file line; clean models get
 * no warning; warnings never fail the build unless --strict; docs/errors.md lists every code.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compile } from "../../src/compile.js";
import { RULES } from "../../src/lint/rules.js";
import { ROOT, tempProject } from "../support/helpers.js";
import { readmeSnippets } from "../cli/userProject.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function project(files: Record<string, string>): string {
  const dir = tempProject("flatgrad-lint-", files);
  dirs.push(dir);
  return dir;
}

/** A model file whose build body is `body` (line 5 is the body's first line). */
const modelFile = (body: string, optimizer = `{ type: "sgd", lr: 0.1 }`) => `import { defineModel } from "flatgrad";

export default defineModel({
  optimizer: ${optimizer},
  build(g) {
${body
  .trim()
  .split("\n")
  .map((l) => `    ${l.trim()}`)
  .join("\n")}
  },
});
`;

async function warnings(text: string) {
  const dir = project({ "models/m.model.ts": text });
  const res = await compile({ root: dir, mode: "dry-run", format: false });
  expect(res.diagnostics).toEqual([]);
  return res.warnings.map((w) => `${w.file}:${w.line} ${w.code}: ${w.message}`);
}

const mlp = `const x = g.input("x", [8, 4]);
const W1 = g.param("W1", [16, 4]);
const W2 = g.param("W2", [3, 16]);
const h = g.relu(g.linear(x, W1));
const z = g.linear(h, W2);`;

describe("lints", () => {
  it("FGW001: softmaxCrossEntropy given softmax(z)", async () => {
    const w = await warnings(modelFile(`${mlp}\nconst probs = g.softmax(z);\nreturn g.softmaxCrossEntropy(probs, g.input("y", [8, 3]));`));
    expect(w).toEqual([expect.stringMatching(/^models\/m\.model\.ts:12 FGW001: softmaxCrossEntropy expects logits, but it is given probs = softmax\(\.\.\.\) \(line 11\): /)]);
  });

  it("FGW002: bceWithLogits given sigmoid(z), also nested in the call", async () => {
    const body = `const x = g.input("x", [8, 4]);\nconst W = g.param("W", [1, 4]);\nreturn g.bceWithLogits(g.sigmoid(g.linear(x, W)), g.input("y", [8, 1]));`;
    expect(await warnings(modelFile(body))).toEqual([expect.stringMatching(/^models\/m\.model\.ts:8 FGW002: bceWithLogits expects logits, but it is given sigmoid\(\.\.\.\) \(line 8\)/)]);
  });

  it("FGW003: log(softmax(z)) instead of logSoftmax(z)", async () => {
    const w = await warnings(modelFile(`${mlp}\nconst p = g.softmax(z);\nconst lp = g.log(p);\nreturn g.neg(g.mean(g.mul(lp, g.input("y", [8, 3]))));`));
    expect(w).toEqual([expect.stringMatching(/^models\/m\.model\.ts:12 FGW003: log of p = softmax\(\.\.\.\) \(line 11\): .*logSoftmax/)]);
  });

  it("FGW004: a param that does not reach the loss (warned at its declaration)", async () => {
    const w = await warnings(modelFile(`${mlp}\nconst W3 = g.param("W3", [3, 3]);\ng.output("extra", g.matmul(z, W3));\nreturn g.softmaxCrossEntropy(z, g.input("y", [8, 3]));`));
    expect(w).toEqual([expect.stringMatching(/^models\/m\.model\.ts:11 FGW004: param "W3" does not reach the loss: its gradient is always 0/)]);
  });

  it("FGW005: an activation after the last layer of an mse regression", async () => {
    for (const act of ["relu", "sigmoid", "tanh", "softmax"]) {
      const w = await warnings(modelFile(`${mlp}\nconst out = g.${act}(z);\nreturn g.mse(out, g.input("y", [8, 3]));`));
      expect(w).toEqual([expect.stringMatching(new RegExp(`^models/m\\.model\\.ts:12 FGW005: mse's prediction is out = ${act}\\(\\.\\.\\.\\) \\(line 11\\)`))]);
    }
  });

  it('FGW006: init "zeros" (or "ones") on a weight matrix; not on a bias', async () => {
    const body = `const x = g.input("x", [8, 4]);\nconst W = g.param("W", [2, 4], { init: "zeros" });\nconst V = g.param("V", [1, 2], { init: "ones" });\nconst b = g.param("b", [2], { init: "zeros" });\nreturn g.mse(g.linear(g.tanh(g.linear(x, W, b)), V), g.input("y", [8, 1]));`;
    const w = await warnings(modelFile(body));
    expect(w).toEqual([
      expect.stringMatching(/^models\/m\.model\.ts:7 FGW006: param "W" \[2,4\] starts with every weight 0: /),
      expect.stringMatching(/^models\/m\.model\.ts:8 FGW006: param "V" \[1,2\] starts with every weight 1: /),
    ]);
  });

  it("FGW007: a learning rate the tutorial warns about, at the lr field", async () => {
    const loss = `${mlp}\nreturn g.softmaxCrossEntropy(z, g.input("y", [8, 3]));`;
    expect(await warnings(modelFile(loss, `{ type: "sgd", lr: 1 }`))).toEqual([expect.stringMatching(/^models\/m\.model\.ts:4 FGW007: sgd lr 1 is large \(≥ 1\)/)]);
    expect(await warnings(modelFile(loss, `{ type: "sgd", lr: 1e-7 }`))).toEqual([expect.stringMatching(/^models\/m\.model\.ts:4 FGW007: sgd lr 1e-7 is tiny/)]);
    expect(await warnings(modelFile(loss, `{ type: "adam", lr: 0.5 }`))).toEqual([expect.stringMatching(/FGW007: adam lr 0\.5 is large \(≥ 0\.1\)/)]);
    expect(await warnings(modelFile(loss, `{ type: "adam", lr: 3e-3 }`))).toEqual([]);
  });

  it("the committed, example, bench and README models have no warning", async () => {
    const res = await compile({ root: ROOT, models: ["models/*.model.ts", "examples/models/*.model.ts", "bench/models/*.model.ts"], mode: "dry-run", format: false });
    expect(res.diagnostics).toEqual([]);
    // every model file of those folders was compiled (the count followed by hand had fallen behind: 6, then 10 files)
    const files = ["models", "examples/models", "bench/models"].flatMap((d) => readdirSync(path.join(ROOT, d)).filter((f) => f.endsWith(".model.ts")));
    expect(files.length).toBeGreaterThanOrEqual(11);
    expect(res.files.filter((f) => f.model).length).toBe(files.length);
    expect(res.warnings).toEqual([]);
    const snippets = Object.fromEntries([...readmeSnippets()].filter(([f]) => f.startsWith("models/")));
    const readme = await compile({ root: project(snippets), mode: "dry-run", format: false });
    expect([readme.diagnostics, readme.warnings]).toEqual([[], []]);
  });

  it("the CLI prints warnings like errors and still writes; --strict fails the build and writes nothing", () => {
    const dir = project({ "models/m.model.ts": modelFile(`${mlp}\nreturn g.mse(g.sigmoid(z), g.input("y", [8, 3]));`, `{ type: "sgd", lr: 2 }`) });
    const cli = (args: string[]) => spawnSync(process.execPath, [path.join(ROOT, "src", "cli", "bin.mjs"), "compile", ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", INIT_CWD: "" } });
    let r = cli(["--strict"]);
    expect(r.stderr).toContain("models/m.model.ts:11:14 - warning FGW005: mse's prediction is sigmoid(...) (line 11)");
    expect(r.stderr).toContain("\n11     return g.mse(g.sigmoid(z), g.input(\"y\", [8, 3]));\n");
    expect(r.stderr).toContain("models/m.model.ts:4:29 - warning FGW007: sgd lr 2 is large");
    expect(r.stderr).toContain("flatgrad: 2 warnings and --strict: the build fails, no file written");
    expect(r.status).toBe(1);
    expect(existsSync(path.join(dir, "generated"))).toBe(false);
    r = cli([]);
    expect(r.stderr).toContain("warning FGW005");
    expect(r.stderr).toContain("flatgrad: 1 model, 1 written, 0 unchanged, 2 warnings");
    expect(r.status).toBe(0);
    expect(existsSync(path.join(dir, "generated", "m.ts"))).toBe(true);
    r = cli(["--reporter", "github", "--check"]);
    expect(r.stderr).toMatch(/^::warning file=models\/m\.model\.ts,line=11,col=14,title=FGW005::mse's prediction/m);
    expect(r.status).toBe(0);
  });

  it("docs/errors.md lists every lint code with its fix", () => {
    const doc = readFileSync(path.join(ROOT, "docs", "errors.md"), "utf8");
    const rows = new Map([...doc.matchAll(/^\|\s*`(FGW\d{3})`\s*\|\s*(.+?)\s*\|\s*(.+?)\s*\|/gm)].map((m) => [m[1]!, { what: m[2]!, fix: m[3]! }]));
    expect([...rows.keys()]).toEqual(RULES.map((r) => r.code));
    for (const r of RULES) expect(rows.get(r.code)!.what, r.code).toBe(r.what);
    expect(new Set(RULES.map((r) => r.code)).size).toBe(RULES.length);
  });
});
