/**
 * What every bundler plugin shares: compile the project's stale models to disk with the CLI's own
 * `compile()` (same options, same bytes), remember what each model imports, and say which files a
 * change must recompile. Stale means: never compiled by this generator, its file or a file it
 * imports changed (by content), its generated file is gone, or its last compile failed.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Diagnostic, Warning } from "../compile.js";
import { importsOf, stampOf } from "./deps.js";

/** The plugins' options: as in flatgrad.config.ts, which they read from the root when present; options win. */
export interface FlatgradPluginOptions {
  /** Model files or globs, relative to the root (default: the config's, else models/**\/*.model.ts). */
  models?: string[];
  /** Output folder, relative to the root (default: the config's, else generated). */
  outDir?: string;
  /** The project root (default: the bundler's root: Vite's `root`, esbuild's `absWorkingDir`, webpack's `context`, else the nearest package.json's folder). */
  root?: string;
}

export interface SyncResult {
  /** Model errors (file relative to the root, 1-based line and column), as the CLI prints them. */
  diagnostics: Diagnostic[];
  warnings: Warning[];
  /** Generated files written by this sync (relative to the root). */
  written: string[];
  /** Every model file and every file they import: what a bundler should watch. */
  watch: string[];
}

interface Known {
  deps: string[];
  /** "" after a failed compile: stale until it succeeds. */
  stamp: string;
}

const posix = (p: string) => p.split(path.sep).join("/");

export class Generator {
  readonly root: string;
  private settings?: Promise<{ models: string[]; outDir: string; format: boolean }>;
  private known = new Map<string, Known>();
  private queue: Promise<unknown> = Promise.resolve();
  private outAbs?: string;

  constructor(
    private readonly options: FlatgradPluginOptions,
    root: string,
  ) {
    this.root = path.resolve(options.root ?? root);
  }

  /** The options, the config file's and the defaults, merged once (the config is read at the first build). */
  private resolved() {
    return (this.settings ??= (async () => {
      const [{ loadConfig }, { DEFAULT_MODELS }] = await Promise.all([import("../cli/config.js"), import("../compile.js")]);
      const config = await loadConfig(this.root);
      const outDir = this.options.outDir ?? config.outDir ?? "generated";
      this.outAbs = path.resolve(this.root, outDir);
      return { models: this.options.models ?? config.models ?? DEFAULT_MODELS, outDir, format: config.format ?? true };
    })());
  }

  /** Whether `file` is in the output folder: the generator's own writes, never a reason to compile. */
  isOutput(file: string): boolean {
    const out = this.outAbs ?? path.resolve(this.root, this.options.outDir ?? "generated");
    const abs = path.resolve(file);
    return abs === out || abs.startsWith(out + path.sep);
  }

  /** Whether a change to `file` can make a model stale: a model, a file a model imports, or a new file in the models' folders. */
  concerns(file: string): boolean {
    const abs = path.resolve(file);
    if (this.isOutput(abs) || !/\.[cm]?[jt]s$/.test(abs) || abs.split(path.sep).includes("node_modules")) return false;
    if (this.known.has(abs)) return true;
    for (const k of this.known.values()) if (k.deps.includes(abs)) return true;
    return /\.model\.[cm]?[jt]s$/.test(abs);
  }

  /** The model files and their imports behind a generated file (esbuild watches these for it). */
  sourcesOf(generated: string): string[] {
    const base = path.basename(generated).replace(/(\.d)?\.[cm]?[jt]s$/, "");
    const out: string[] = [];
    for (const [model, k] of this.known) if (path.basename(model).replace(/\.model\.[cm]?[tj]s$/, "").replace(/\.[cm]?[tj]s$/, "") === base) out.push(model, ...k.deps);
    return out;
  }

  /** Compile what is stale; calls run one after another. */
  sync(): Promise<SyncResult> {
    const run = this.queue.then(() => this.syncNow());
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async syncNow(): Promise<SyncResult> {
    const { models: patterns, outDir, format } = await this.resolved();
    const { compile, resolveModels, baseName } = await import("../compile.js");
    const models = await resolveModels(patterns, this.root, this.outAbs!);
    for (const m of [...this.known.keys()]) if (!models.includes(m)) this.known.delete(m);
    const stale = models.filter((m) => {
      const k = this.known.get(m);
      const out = path.join(this.outAbs!, `${baseName(m)}.ts`);
      return !k || !k.stamp || k.stamp !== stampOf([m, ...k.deps]) || !existsSync(out);
    });
    let diagnostics: Diagnostic[] = [];
    let warnings: Warning[] = [];
    const written: string[] = [];
    if (stale.length) {
      // the CLI's compile, with the CLI's options: the same bytes as `flatgrad compile`
      const res = await compile({ root: this.root, models: stale, outDir, format, mode: "write" });
      diagnostics = res.diagnostics;
      warnings = res.warnings;
      for (const f of res.files) if (f.status === "written") written.push(f.path);
      const failed = diagnostics.length > 0; // compile writes all or nothing
      for (const m of stale) {
        const deps = await importsOf(m);
        this.known.set(m, { deps, stamp: failed ? "" : stampOf([m, ...deps]) });
      }
    }
    const watch = new Set<string>();
    for (const [m, k] of this.known) for (const f of [m, ...k.deps]) watch.add(f);
    return { diagnostics, warnings, written, watch: [...watch].sort() };
  }

  /** A diagnostic's file as an absolute path. */
  absolute(d: Diagnostic | Warning): string {
    return path.resolve(this.root, d.file);
  }

  /** The model-file lines around a diagnostic, with a caret under its column (for error overlays). */
  frame(d: Diagnostic | Warning): string {
    let lines: string[];
    try {
      lines = readFileSync(this.absolute(d), "utf8").split("\n");
    } catch {
      return "";
    }
    const out: string[] = [];
    const width = String(Math.min(lines.length, d.line + 1)).length;
    for (let n = Math.max(1, d.line - 2); n <= Math.min(lines.length, d.line + 1); n++) {
      out.push(`${n === d.line ? ">" : " "} ${String(n).padStart(width)} | ${lines[n - 1]}`);
      if (n === d.line) out.push(`  ${" ".repeat(width)} | ${" ".repeat(Math.max(0, d.col - 1))}^`);
    }
    return out.join("\n");
  }

  /** Root-relative POSIX path, for messages. */
  relative(file: string): string {
    return posix(path.relative(this.root, file));
  }
}
