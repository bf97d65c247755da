/**
 * The CLI around the compiler: --version, --help and usage errors answer without loading the
 * compiler; nothing to compile is an error with a hint, not a silent success; paths typed in
 * a subfolder resolve there when npm ran the command from the project root.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, tempProject } from "../support/helpers.js";

const BIN = path.join(ROOT, "src", "cli", "bin.mjs");
// records every module Node's loader is asked for (jiti loads the compiler's dependencies through it)
const TRACE = `const M = require("node:module"); const seen = new Set(); const load = M._load;
M._load = function (req, ...rest) { seen.add(req); return load.call(this, req, ...rest); };
process.on("exit", () => process.stderr.write("\\nLOADED " + [...seen].filter((s) => /ts-morph|prettier/.test(s)).join(" ") + "\\n"));`;

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const model = `import { defineModel } from "flatgrad";
export default defineModel({ build: (g) => g.mse(g.linear(g.input("x", [2, 3]), g.param("W", [1, 3])), g.input("y", [2, 1])) });
`;

function project(files: Record<string, string>): string {
  const dir = tempProject("flatgrad-usage-", files);
  dirs.push(dir);
  return dir;
}

function run(cwd: string, args: string[], env: Record<string, string | undefined> = {}, node: string[] = []) {
  const r = spawnSync(process.execPath, [...node, BIN, ...args], { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", INIT_CWD: undefined, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("flatgrad's command line around the compiler", () => {
  it("--version prints the package's version", () => {
    const r = run(ROOT, ["--version"]);
    expect(r.out).toBe(`${JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).version}\n`);
    expect(r.code).toBe(0);
  });

  it("--help, --version and usage errors do not load the compiler (ts-morph, prettier); compile does", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "flatgrad-trace-"));
    dirs.push(dir);
    const trace = path.join(dir, "trace.cjs");
    writeFileSync(trace, TRACE);
    const loaded = (args: string[]) => {
      const r = run(ROOT, args, {}, ["--require", trace]);
      return { ...r, loaded: /LOADED (.*)$/m.exec(r.err)![1]!.trim() };
    };
    const help = loaded(["--help"]);
    expect(help.out).toMatch(/^usage:/);
    expect([help.code, help.loaded]).toEqual([0, ""]);
    expect(loaded(["--version"]).loaded).toBe("");
    for (const bad of [["bogus"], [], ["compile", "--check", "--dry-run"], ["compile", "--emit", "wasm"], ["compile", "--nope"]]) {
      const r = loaded(bad);
      expect(r.err).toMatch(/usage:/);
      expect([r.code, r.loaded]).toEqual([2, ""]);
    }
    expect(loaded(["compile", "--check", "--quiet"]).loaded).toMatch(/ts-morph/);
  });

  it("exit 1 with a hint when no model matches: no models/ folder, no *.model.ts, a path that does not exist", () => {
    const empty = project({});
    let r = run(empty, ["compile"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("flatgrad: no model file matches models/**/*.model.ts");
    expect(r.err).toContain("there is no models/ folder");

    const misnamed = project({ "models/net.ts": model });
    r = run(misnamed, ["compile"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("models/net.ts: model files are named NAME.model.ts");
    expect(existsSync(path.join(misnamed, "generated"))).toBe(false);

    r = run(misnamed, ["compile", "models/nope.model.ts"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`flatgrad: models/nope.model.ts: no such file (looked in ${path.join(misnamed, "models", "nope.model.ts")})\n`);

    r = run(misnamed, ["compile", "other/**/*.model.ts", "--check"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("there is no other/ folder");
  });

  it("paths typed in a subfolder resolve there through npm run (INIT_CWD), and only within the same project", () => {
    const dir = project({ "nets/deep/x.model.ts": model });
    // npm starts the script in the project root and says where the user was in INIT_CWD
    let r = run(dir, ["compile", "x.model.ts", "--out", "out"], { INIT_CWD: path.join(dir, "nets", "deep") });
    expect(r.err).toContain("written: nets/deep/out/x.ts");
    expect(r.code).toBe(0);
    // explain too
    r = run(dir, ["explain", "x.model.ts"], { INIT_CWD: path.join(dir, "nets", "deep") });
    expect(r.out).toContain("backward");
    expect(r.code).toBe(0);
    // an INIT_CWD from another project (an outer npm process) is not where the user typed the path
    const other = project({ "x.model.ts": model });
    r = run(dir, ["compile", "nets/deep/x.model.ts", "--check"], { INIT_CWD: other });
    expect(r.err).toContain("1 model, 0 up to date, 0 stale, 1 missing");
  });
});
