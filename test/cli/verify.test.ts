/**
 * `flatgrad verify` on a user's project (a temp folder, not this repository's models): a model
 * with a correct custom rule and a g.grad inside passes; the same model with a planted bug in
 * its custom rule fails, naming the tensor and the model line, exit 1; `compile --verify` runs
 * it after compiling; bad usage is exit 2.
 */
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, tempProject } from "../support/helpers.js";

const BIN = path.join(ROOT, "src", "cli", "bin.mjs");
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A tanh layer whose tanh is a customGrad with rule dy·(1 − out²)·`factor` (1: correct). */
const model = (factor: number) => `import { defineModel } from "flatgrad";

export default defineModel({
  build(g) {
    const x = g.input("x", [4, 3]);
    const y = g.input("y", [4, 1]);
    const W = g.param("W", [5, 3]);
    const V = g.param("V", [1, 5]);
    const act = g.customGrad(
      (g, z) => g.tanh(z),
      (g, _ins, out, dy) => [g.mul(dy, g.mul(g.sub(1, g.square(out)), ${factor}))],
    );
    const h = act(g.linear(x, W));
    const u = g.linear(h, V);
    const [dx_u] = g.grad(g.sum(u), [x]);
    return g.add(g.mse(u, y), g.mean(g.square(dx_u)));
  },
});
`;

/** The same custom tanh layer with dropout (p = 0.3) after it: a new mask on every training call. */
const dropoutModel = (factor: number) => `import { defineModel } from "flatgrad";

export default defineModel({
  build(g) {
    const x = g.input("x", [4, 3]);
    const y = g.input("y", [4, 1]);
    const W = g.param("W", [5, 3]);
    const V = g.param("V", [1, 5]);
    const act = g.customGrad(
      (g, z) => g.tanh(z),
      (g, _ins, out, dy) => [g.mul(dy, g.mul(g.sub(1, g.square(out)), ${factor}))],
    );
    const h = g.dropout(act(g.linear(x, W)), 0.3);
    return g.mse(g.linear(h, V), y);
  },
});
`;

function run(cwd: string, args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", INIT_CWD: undefined } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("flatgrad verify", () => {
  const dir = tempProject("flatgrad-verify-", { "models/good.model.ts": model(1), "models/bad.model.ts": model(1.01) });
  dirs.push(dir);

  it("passes a correct custom rule and fails a planted bug in one, naming the tensor and the line (exit 1)", () => {
    const r = run(dir, ["verify"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(1);
    const [bad, good] = r.out.split(/\n(?=models\/)/).slice(1);
    expect(good).toMatch(/^models\/good\.model\.ts\n/);
    // every row of the good model passes: both params and the g.grad tensor
    for (const t of ["dL/dW ", "dL/dV ", "grad dx_u = ∂"]) expect(good).toMatch(new RegExp(`${t.replace(/[/.]/g, "\\$&")}.*pass`));
    expect(good).not.toMatch(/FAIL/);
    // the planted bug: W's gradient goes through the rule (V's does not), and so does ∂u/∂x
    expect(bad).toMatch(/dL\/dW .*FAIL +models\/bad\.model\.ts:7\n/);
    expect(bad).toMatch(/dL\/dV .*pass/);
    expect(bad).toMatch(/grad dx_u = ∂\S+\/∂x .*FAIL +models\/bad\.model\.ts:15\n/);
    expect(bad).toMatch(/FAIL dL\/dW at element \d+: analytic \S+, numeric \S+ \(models\/bad\.model\.ts:7\)/);
    expect(r.out).toMatch(/flatgrad verify: 2 failures/);
  }, 240_000);

  it("compile --verify compiles, then verifies the same models (exit 0 when they pass)", () => {
    const r = run(dir, ["compile", "models/good.model.ts", "--verify", "--samples", "8"]);
    expect(r.err).toMatch(/written: generated\/good\.ts/);
    expect(r.out).toMatch(/dL\/dW +8\/15 .*pass/);
    expect(r.out).toMatch(/all 3 tensors pass in 1 model/);
    expect(r.code).toBe(0);
  }, 240_000);

  it("checks a model with dropout under one mask: a correct rule passes, a planted bug still fails", () => {
    const d = tempProject("flatgrad-verify-dropout-", { "models/good.model.ts": dropoutModel(1), "models/bad.model.ts": dropoutModel(1.01) });
    dirs.push(d);
    const r = run(d, ["verify", "--samples", "0"]);
    expect(r.err).toBe("");
    const [bad, good] = r.out.split(/\n(?=models\/)/).slice(1);
    expect(good).toMatch(/^models\/good\.model\.ts\n/);
    // every element of both params: a new mask per call would fail them (the differences straddle two masks)
    expect(good).toMatch(/dL\/dW +15\/15 .*pass/);
    expect(good).toMatch(/dL\/dV +5\/5 .*pass/);
    expect(good).not.toMatch(/FAIL/);
    expect(bad).toMatch(/dL\/dW .*FAIL +models\/bad\.model\.ts:7\n/);
    expect(bad).toMatch(/dL\/dV .*pass/);
    expect(r.out).toMatch(/flatgrad verify: 1 failure \(4 tensors checked in 2 models\)/);
    expect(r.code).toBe(1);
  }, 240_000);

  it("bad usage is exit 2; a missing file is exit 1", () => {
    expect(run(dir, ["verify", "--samples", "-1"]).code).toBe(2);
    expect(run(dir, ["compile", "--seed", "3"]).code).toBe(2);
    const r = run(dir, ["verify", "models/nope.model.ts"]);
    expect([r.code, r.err]).toEqual([1, expect.stringMatching(/no such file/)]);
  });
});
