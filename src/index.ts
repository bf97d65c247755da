export { defineModel, type ModelDefinition, type Model, type OptimizerConfig } from "./dsl/define.js";
export type { Builder } from "./dsl/builder.js";
export type { Node as Tensor, DType } from "./ir/graph.js";
