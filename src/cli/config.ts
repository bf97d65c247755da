/** flatgrad.config.ts: project defaults for the CLI; flags override them. */
import { createJiti } from "jiti";
import { existsSync } from "node:fs";
import path from "node:path";
import { MODEL_API } from "../front/apiPath.js";
import type { FlatgradConfig } from "../dsl/config.js";

export { defineConfig, type FlatgradConfig } from "../dsl/config.js";

export const CONFIG_FILE = "flatgrad.config.ts";

/** Load the project's config, or {} when there is none. Throws a plain Error for a bad config (exit 2). */
export async function loadConfig(root: string): Promise<FlatgradConfig> {
  const file = path.join(root, CONFIG_FILE);
  if (!existsSync(file)) return {};
  const jiti = createJiti(import.meta.url, { moduleCache: false, fsCache: false, alias: { flatgrad: MODEL_API } });
  const mod = (await jiti.import(file)) as { default?: unknown };
  const cfg = mod.default;
  if (typeof cfg !== "object" || cfg === null) throw new Error(`${CONFIG_FILE}: the default export must be defineConfig({ ... })`);
  const c = cfg as Record<string, unknown>;
  for (const k of Object.keys(c)) if (!["models", "outDir", "format"].includes(k)) throw new Error(`${CONFIG_FILE}: unknown field "${k}" (known: models, outDir, format)`);
  if (c.models !== undefined && (!Array.isArray(c.models) || !c.models.every((m) => typeof m === "string"))) throw new Error(`${CONFIG_FILE}: models must be an array of file names or globs`);
  if (c.outDir !== undefined && typeof c.outDir !== "string") throw new Error(`${CONFIG_FILE}: outDir must be a string`);
  if (c.format !== undefined && typeof c.format !== "boolean") throw new Error(`${CONFIG_FILE}: format must be true or false`);
  return c as FlatgradConfig;
}
