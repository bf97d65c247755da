/** The values `createModel({ seed })` gives a model's params and buffers: compiled, emitted as JavaScript, run. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { compileDefinition } from "../compile.js";
import { toJavaScript } from "../emit/js.js";

export async function initialState(def: unknown, name: string, seed = 0): Promise<Record<string, Float32Array | Float64Array>> {
  const { text } = await compileDefinition(def, name);
  const { js } = await toJavaScript(text, name);
  const dir = mkdtempSync(path.join(os.tmpdir(), "flatgrad-state-"));
  try {
    const file = path.join(dir, `${name}.mjs`);
    writeFileSync(file, js);
    const mod = (await import(pathToFileURL(file).href)) as { createModel(o: { seed: number }): { params: Record<string, Float32Array | Float64Array>; buffers: Record<string, Float32Array | Float64Array> } };
    const m = mod.createModel({ seed });
    return Object.fromEntries(Object.entries({ ...m.params, ...m.buffers }).map(([k, v]) => [k, v.slice()]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
