/** flatgrad's public API: `defineModel` for model files, `compile` for tools. */
export { defineModel, type ModelDefinition, type Model, type OptimizerConfig } from "./dsl/define.js";
export type { Builder } from "./dsl/builder.js";
export type { Node as Tensor, DType } from "./ir/graph.js";
export { compile, compileModelFile, type CompileOptions, type CompileResult, type CompiledFile, type Diagnostic } from "./compile.js";
