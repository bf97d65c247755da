/**
 * The package as a user gets it: `npm pack`, installed from the tarball into a fresh project
 * (offline, from npm's cache, with a lockfile pinned to this repository's), then the README's
 * "Use it in your project" snippets written verbatim, compiled, type-checked under a strict
 * tsconfig without @types/node, and run.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readmeSnippets, STRICT } from "./userProject.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const TSC = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");

const run = (cmd: string, args: string[], cwd: string) => {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", INIT_CWD: cwd } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe("the packed package, installed in a fresh project", () => {
  let dir = "";
  let tarball = "";
  let packed: { size: number; unpackedSize: number; files: { path: string }[] };
  const t0 = performance.now();

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "flatgrad-pack-"));
    const packDir = path.join(dir, "pack");
    mkdirSync(packDir);
    // npm pack runs `prepare`, the build to dist/
    packed = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", packDir], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }))[0];
    tarball = path.join(packDir, readdirName(packDir));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("ships the build, the CLI, the template and the docs: no tests, bench, data or CI", () => {
    const files = packed.files.map((f) => f.path);
    expect(files).toContain("dist/index.js");
    expect(files).toContain("dist/index.d.ts");
    expect(files).toContain("src/cli/bin.mjs");
    expect(files).toContain("templates/module.ts");
    expect(files).toContain("README.md");
    expect(files.filter((f) => /^(test|bench|data|\.ci|examples|generated|models)\//.test(f) || /\.test\.|\.csv$/.test(f))).toEqual([]);
    console.log(`npm pack: ${files.length} files, ${(packed.size / 1024).toFixed(1)} kB packed, ${(packed.unpackedSize / 1024).toFixed(1)} kB unpacked`);
  });

  it("installs offline, compiles the README's model files, type-checks strictly and trains", () => {
    const proj = path.join(dir, "project");
    mkdirSync(proj);
    const snippets = readmeSnippets();
    expect([...snippets.keys()].sort()).toEqual(["flatgrad.config.ts", "models/spiral-net.ts", "models/spiral-one.model.ts", "models/spiral.model.ts", "package.json", "train.ts"]);
    const local = path.basename(tarball);
    writeFileSync(path.join(proj, local), readFileSync(tarball));
    // the README's package.json fragment, in a project that installed flatgrad as a dev dependency
    const pkg = { name: "user-project", private: true, type: "module", ...JSON.parse(snippets.get("package.json")!), devDependencies: { flatgrad: `file:${local}` } };
    writeFileSync(path.join(proj, "package.json"), JSON.stringify(pkg, null, 2));
    writeFileSync(path.join(proj, "package-lock.json"), JSON.stringify(lockfile(pkg, local, readFileSync(tarball)), null, 2));
    const install = run("npm", ["ci", "--offline", "--no-audit", "--no-fund", "--loglevel=error"], proj);
    expect(install.err + install.out).not.toMatch(/ERR/);
    expect(install.code, install.err + install.out).toBe(0);
    expect(existsSync(path.join(proj, "node_modules", "flatgrad", "dist", "index.js"))).toBe(true);

    for (const [file, text] of snippets) {
      if (file === "package.json") continue;
      mkdirSync(path.dirname(path.join(proj, file)), { recursive: true });
      writeFileSync(path.join(proj, file), text);
    }
    const compiled = run("npm", ["run", "--silent", "compile-model"], proj);
    expect(compiled.err).toMatch(/2 models, 2 written/);
    expect(compiled.code).toBe(0);

    // a user's strict tsconfig: no @types/node, no skipLibCheck; the DOM lib for console
    const tsconfig = { compilerOptions: { ...STRICT, lib: ["ES2022", "DOM"] }, include: ["*.ts", "models", "generated"] };
    writeFileSync(path.join(proj, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
    const tsc = run(process.execPath, [TSC, "-p", "."], proj);
    expect(tsc.out + tsc.err).toBe("");
    expect(tsc.code).toBe(0);

    // every documented name, at run time, from the installed package
    const api = run(process.execPath, ["--input-type=module", "-e", 'import * as f from "flatgrad"; console.log(Object.keys(f).sort().join(","))'], proj);
    expect(api.out.trim()).toBe("compile,compileModelFile,defineConfig,defineModel");
    // the bundler plugins: each subpath a default export flatgrad(options?) giving that bundler's plugin (no bundler installed here)
    const plugins = run(
      process.execPath,
      ["--input-type=module", "-e", 'for (const b of ["vite", "rollup", "esbuild", "webpack"]) { const p = (await import(`flatgrad/${b}`)).default(); console.log(b, typeof p, p.name ?? typeof p.apply); }'],
      proj,
    );
    expect(plugins.err).toBe("");
    expect(plugins.out.trim().split("\n")).toEqual(["vite object flatgrad", "rollup object flatgrad", "esbuild object flatgrad", "webpack object function"]);

    // the training script, run by the TypeScript loader flatgrad itself installs (jiti; the README says tsx)
    const jiti = path.join(proj, "node_modules", "jiti", "lib", "jiti-cli.mjs");
    const trained = run(process.execPath, [jiti, "train.ts"], proj);
    expect(trained.err).toBe("");
    const acc = Number(/accuracy ([\d.]+)/.exec(trained.out)?.[1]);
    expect(acc).toBeGreaterThanOrEqual(0.95);
    console.log(`pack test: ${((performance.now() - t0) / 1000).toFixed(1)} s, spiral accuracy ${acc}`);
  });
});

function readdirName(d: string): string {
  const names = execFileSync("ls", [d], { encoding: "utf8" }).trim().split("\n");
  expect(names).toHaveLength(1);
  return names[0]!;
}

/**
 * A lockfile for the project: flatgrad from the tarball, its dependencies pinned to the versions
 * and integrities of this repository's lockfile, so that `npm ci --offline` installs from npm's
 * cache alone (no registry metadata needed) and always the same tree.
 */
function lockfile(pkg: { name: string; devDependencies: Record<string, string> }, local: string, bytes: Buffer) {
  const repoLock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, Record<string, unknown>> };
  const own = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as Record<string, unknown>;
  const packages: Record<string, unknown> = {
    "": { name: pkg.name, devDependencies: pkg.devDependencies },
    "node_modules/flatgrad": {
      version: own.version,
      resolved: `file:${local}`,
      integrity: `sha512-${createHash("sha512").update(bytes).digest("base64")}`,
      dev: true,
      license: own.license,
      dependencies: own.dependencies,
      bin: own.bin,
      engines: own.engines,
    },
  };
  // flatgrad's own dependencies: the entries of the repository's lock that are not dev-only
  for (const [k, v] of Object.entries(repoLock.packages)) if (k && !v.dev && !v.devOptional) packages[k] = { ...v, dev: true };
  return { name: pkg.name, lockfileVersion: 3, requires: true, packages };
}
