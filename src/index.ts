/** flatgrad's public API: `defineModel` for model files, `defineConfig` for flatgrad.config.ts, `compile` for tools. */
export * from "./api.js";
export { compile, compileModelFile, type CompileOptions, type CompileResult, type CompiledFile, type Diagnostic, type FileStatus } from "./compile.js";
