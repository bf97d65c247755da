/** Load a model file with jiti, which keeps the model file's own line numbers in stack traces. */
import { createJiti } from "jiti";
import { readFileSync } from "node:fs";
import path from "node:path";
import { FlatgradError } from "../ir/shape.js";
import { siteOfError } from "./build.js";

export interface LoadedFile {
  file: string;
  source: string;
  exported: unknown;
}

export async function loadModelFile(file: string): Promise<LoadedFile> {
  const abs = path.resolve(file);
  let source: string;
  try {
    source = readFileSync(abs, "utf8");
  } catch (e) {
    throw new FlatgradError(`cannot read model file: ${(e as Error).message}`, undefined, "FG104");
  }
  // a fresh loader per load: an edited model (or a model it imports) is never served from a stale cache
  const jiti = createJiti(import.meta.url, { moduleCache: false, fsCache: false, sourceMaps: true });
  let mod: unknown;
  try {
    mod = await jiti.import(abs);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    if (err instanceof FlatgradError) throw err;
    throw new FlatgradError(`the model file threw while loading: ${err.message.split("\n")[0]}`, siteOfError(err, abs) ?? { file: abs, line: 1, col: 1 }, "FG101");
  }
  const exported = (mod as { default?: unknown } | undefined)?.default;
  if (exported === undefined) throw new FlatgradError(`the model file has no default export: write \`export default defineModel({ ... })\``, { file: abs, line: 1, col: 1 }, "FG102");
  return { file: abs, source, exported };
}
