/** Writing generated files: all or nothing, only when bytes change, never a half-written file. */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compile } from "../../src/compile.js";
import { ROOT } from "../support/helpers.js";

const MODELS = ["models/digits-mlp.model.ts", "models/seed-net.model.ts"];

describe("writing generated files", () => {
  it("writes changed files, leaves unchanged ones (and their mtime) alone", async () => {
    const out = mkdtempSync(path.join(tmpdir(), "flatgrad-out-"));
    const first = await compile({ models: MODELS, outDir: out, root: ROOT });
    expect(first.diagnostics).toEqual([]);
    expect(first.files.map((f) => f.status)).toEqual(["written", "written"]);
    const mtime = statSync(path.join(out, "seed-net.ts")).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    const second = await compile({ models: MODELS, outDir: out, root: ROOT });
    expect(second.files.map((f) => f.status)).toEqual(["unchanged", "unchanged"]);
    expect(statSync(path.join(out, "seed-net.ts")).mtimeMs).toBe(mtime);
    expect(readdirSync(out).sort()).toEqual(["digits-mlp.ts", "seed-net.ts"]);
  });

  it("an output folder that cannot be made is FG170, and nothing is written", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "flatgrad-out-"));
    const notADir = path.join(dir, "file");
    writeFileSync(notADir, "x");
    const res = await compile({ models: MODELS, outDir: notADir, root: ROOT });
    expect(res.diagnostics.map((d) => d.code)).toEqual(["FG170"]);
    expect(res.diagnostics[0]!.message).toMatch(/^cannot write /);
    expect(readFileSync(notADir, "utf8")).toBe("x");
  });

  it("a failure in the middle of a batch restores the files already replaced", async () => {
    const out = mkdtempSync(path.join(tmpdir(), "flatgrad-out-"));
    writeFileSync(path.join(out, "digits-mlp.ts"), "// old\n");
    mkdirSync(path.join(out, "seed-net.ts")); // a folder where a file must go: its rename fails
    const res = await compile({ models: MODELS, outDir: out, root: ROOT });
    expect(res.diagnostics.map((d) => d.code)).toEqual(["FG170"]);
    expect(readFileSync(path.join(out, "digits-mlp.ts"), "utf8")).toBe("// old\n");
    expect(readdirSync(out).sort()).toEqual(["digits-mlp.ts", "seed-net.ts"]); // no temporary files left
  });
});
