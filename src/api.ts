/**
 * What `import ... from "flatgrad"` gives a model file or `flatgrad.config.ts` when the compiler
 * loads them: the model and config API alone, without the compiler (loading the whole compiler
 * again for every model would cost seconds). Nothing here may import Node's modules: the
 * package's declarations must type-check in a project without `@types/node`.
 */
export { defineModel, type ModelDefinition, type Model, type OptimizerConfig, type SgdConfig, type AdamConfig, type AdamWConfig, type RmspropConfig } from "./dsl/define.js";
export { defineConfig, type FlatgradConfig } from "./dsl/config.js";
export type { Builder } from "./dsl/builder.js";
export type { Node as Tensor, DType } from "./ir/graph.js";
