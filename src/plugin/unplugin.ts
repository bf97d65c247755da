/**
 * The bundler plugins, from one source (unplugin): `flatgrad/vite`, `flatgrad/rollup`,
 * `flatgrad/esbuild` and `flatgrad/webpack` are this plugin for each bundler.
 *
 * At build start it compiles what is stale to disk (generator.ts); a model error fails the build
 * through the bundler's own channel, with the model file, line and column. Watching: Rollup and
 * Vite build call the next build start on a change to a watched file (every model file and what
 * it imports); webpack likewise; the Vite dev server recompiles on its watcher's events and lets
 * Vite's own HMR carry the regenerated file (hmr.ts). esbuild has no watch-change hook: its
 * watch mode rebuilds on the model files only because the generated modules it loads list them
 * as their `watchFiles` (docs/plugins.md says what to do for the rest). Changes in the output
 * folder are the plugin's own writes: they never trigger a compile.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { createUnplugin, type UnpluginFactory } from "unplugin";
import type { Diagnostic, Warning } from "../compile.js";
import { findRoot } from "../paths.js";
import { Generator, type FlatgradPluginOptions, type SyncResult } from "./generator.js";
import { HMR_FOOTER } from "./hmr.js";

export type { FlatgradPluginOptions } from "./generator.js";

const line = (d: Diagnostic | Warning) => `${d.file}:${d.line}:${d.col} - ${"severity" in d ? "warning" : "error"} ${d.code}: ${d.message}`;

/** Rollup's (and Vite's) error: the model file as `id`, `loc` with a 0-based column, and a code frame for the overlay. */
function rollupError(gen: Generator, ds: Diagnostic[]) {
  const d = ds[0]!;
  const file = gen.absolute(d);
  const message = `flatgrad: ${ds.length} model error${ds.length > 1 ? "s" : ""}\n${ds.map(line).join("\n")}`;
  return { message, id: file, loc: { file, line: d.line, column: d.col - 1 }, frame: gen.frame(d), plugin: "flatgrad", pluginCode: d.code };
}

/** esbuild's message: `location` with a 1-based line and a 0-based column, and the line's text. */
function esbuildMessage(gen: Generator, d: Diagnostic | Warning) {
  const file = gen.absolute(d);
  let lineText = "";
  try {
    lineText = readFileSync(file, "utf8").split("\n")[d.line - 1] ?? "";
  } catch {
    lineText = "";
  }
  return { id: d.code, pluginName: "flatgrad", text: `${d.code}: ${d.message}`, location: { file, line: d.line, column: d.col - 1, lineText }, detail: d };
}

const report = (gen: Generator, r: SyncResult) =>
  r.written.length ? `flatgrad: generated ${r.written.join(", ")}` : undefined;

export const unpluginFactory: UnpluginFactory<FlatgradPluginOptions | undefined> = (options = {}) => {
  let gen: Generator | undefined;
  const generator = (root: string) => (gen ??= new Generator(options, root));
  let serve = false;
  let viteRoot: string | undefined;

  return {
    name: "flatgrad",
    async buildStart() {
      // webpack and esbuild compile in their own hooks below
      const framework = this.getNativeBuildContext?.().framework;
      if (framework === "webpack" || framework === "esbuild") return;
      const g = generator(viteRoot ?? findRoot());
      const r = await g.sync();
      for (const f of r.watch) this.addWatchFile(f);
      // buildStart runs with Rollup's (or Vite's) plugin context here, which has warn and error
      const ctx = this as unknown as { warn(message: string): void; error(error: ReturnType<typeof rollupError>): never };
      for (const w of r.warnings) ctx.warn(line(w));
      if (r.diagnostics.length === 0) return;
      // the Vite dev server shows model errors in its overlay (configureServer) instead of refusing to start
      if (serve) return;
      ctx.error(rollupError(g, r.diagnostics));
    },

    vite: {
      configResolved(config) {
        viteRoot = config.root;
        serve = config.command === "serve";
      },
      configureServer(server) {
        const g = generator(viteRoot ?? server.config.root);
        let last: SyncResult | undefined;
        const overlay = (r: SyncResult) => {
          const e = rollupError(g, r.diagnostics);
          server.config.logger.error(e.message, { timestamp: true });
          server.ws.send({ type: "error", err: { message: e.message, stack: "", id: e.id, frame: e.frame, plugin: "flatgrad", loc: e.loc } });
        };
        // a page opened while a model is broken sees the error too
        server.ws.on("connection", () => {
          if (last?.diagnostics.length) overlay(last);
        });
        let timer: ReturnType<typeof setTimeout> | undefined;
        const recompile = async () => {
          last = await g.sync();
          for (const f of last.watch) server.watcher.add(f);
          if (last.diagnostics.length) overlay(last);
          else {
            const said = report(g, last);
            if (said) server.config.logger.info(said, { timestamp: true });
          }
        };
        server.watcher.on("all", (event, file) => {
          if (!g.concerns(file)) return; // the output folder's writes among them
          server.config.logger.info(`flatgrad: ${g.relative(file)} ${event === "change" ? "changed" : event === "unlink" ? "was deleted" : "was added"}`, { timestamp: true });
          clearTimeout(timer);
          timer = setTimeout(() => void recompile().catch((e: Error) => server.config.logger.error(`flatgrad: ${e.message}`)), 30);
        });
        return () => {
          // after Vite's own middlewares are set up: the first sync ran in buildStart; keep its errors for the overlay
          void g.sync().then((r) => (last = r));
        };
      },
      transform(code, id) {
        if (!serve || !gen) return undefined;
        const file = id.split("?")[0]!;
        if (!gen.isOutput(file) || !/\.ts$/.test(file) || !/\bexport function createModel\b/.test(code)) return undefined;
        return { code: code + HMR_FOOTER, map: null };
      },
    },

    esbuild: {
      setup(build) {
        const g = generator(build.initialOptions.absWorkingDir ?? findRoot());
        build.onStart(async () => {
          const r = await g.sync();
          return { errors: r.diagnostics.map((d) => esbuildMessage(g, d)), warnings: r.warnings.map((w) => esbuildMessage(g, w)) };
        });
        // esbuild calls no hook on a change; a generated module lists its model file and the model's
        // imports as watchFiles, so that `esbuild --watch` (context.watch()) rebuilds when they change
        build.onLoad({ filter: /\.ts$/ }, (args) => {
          if (!g.isOutput(args.path)) return undefined;
          return { contents: readFileSync(args.path, "utf8"), loader: "ts", watchFiles: g.sourcesOf(args.path) };
        });
      },
    },

    webpack(compiler) {
      const g = generator(compiler.context);
      let result: SyncResult | undefined;
      // before the compilation reads any module (buildStart runs in `make`, beside the entries)
      const run = async () => {
        result = await g.sync();
      };
      compiler.hooks.beforeRun.tapPromise("flatgrad", run);
      compiler.hooks.watchRun.tapPromise("flatgrad", run);
      compiler.hooks.thisCompilation.tap("flatgrad", (compilation) => {
        if (!result) return;
        for (const f of result.watch) compilation.fileDependencies.add(f);
        for (const d of result.diagnostics) {
          const e = new compiler.webpack.WebpackError(line(d));
          e.file = path.relative(compiler.context, g.absolute(d));
          e.loc = { start: { line: d.line, column: d.col - 1 } };
          compilation.errors.push(e);
        }
        for (const w of result.warnings) compilation.warnings.push(new compiler.webpack.WebpackError(line(w)));
      });
    },
  };
};

export const unplugin = /* #__PURE__ */ createUnplugin(unpluginFactory);
