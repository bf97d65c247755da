/** flatgrad.config.ts: project defaults for the CLI; flags override them. */
export interface FlatgradConfig {
  /** Model files or globs, relative to the project root (default models/**\/*.model.ts). */
  models?: string[];
  /** Output folder, relative to the project root (default generated). */
  outDir?: string;
  /** Format generated files with the project's prettier config when it has one (default true). */
  format?: boolean;
}

/** `export default defineConfig({ ... })` in flatgrad.config.ts: the identity, typed. */
export const defineConfig = (config: FlatgradConfig): FlatgradConfig => config;
