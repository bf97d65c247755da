/** From a model definition to an IR graph: run build(g), check the model's interface, name the nodes. */
import { makeBuilder, type Declared } from "../dsl/builder.js";
import { isModel, type OptimizerConfig } from "../dsl/define.js";
import { Ctx, topo, type DType, type Graph, type Node } from "../ir/graph.js";
import { FlatgradError, fmtShape, size, type Site } from "../ir/shape.js";
import { primitive } from "../ops/index.js";
import type { Attrs } from "../ops/types.js";
import { checkOptimizer } from "../optim/config.js";
import { nameNodesFromSource } from "./names.js";

export interface BuiltModel {
  graph: Graph;
  optimizer: OptimizerConfig;
  paramInit: Map<string, Attrs>;
}

const KNOWN = ["dtype", "optimizer", "build"];

export function buildModel(def: unknown, name: string, file?: string, source?: string): BuiltModel {
  if (!isModel(def)) throw new FlatgradError(`the default export is not a model: write \`export default defineModel({ build(g) { ... } })\``, file ? { file, line: 1, col: 1 } : undefined, "FG102");
  const fileSite = file ? { file, line: 1, col: 1 } : undefined;
  for (const k of Object.keys(def)) if (!KNOWN.includes(k)) throw new FlatgradError(`defineModel: unknown field "${k}" (known: ${KNOWN.join(", ")})`, fileSite, "FG103");
  const dtype: DType = def.dtype ?? "float32";
  if (dtype !== "float32" && dtype !== "float64") throw new FlatgradError(`defineModel: dtype must be "float32" or "float64", got ${JSON.stringify(def.dtype)}`, fileSite, "FG103");
  const optimizer = checkOptimizer(def.optimizer, fileSite);
  if (typeof def.build !== "function") throw new FlatgradError(`defineModel: build(g) must be a function`, fileSite, "FG103");

  const ctx = new Ctx((op, inputs, attrs) => primitive(op).shape(inputs.map((n) => n.shape), attrs));
  const declared: Declared = { inputs: new Map(), params: new Map(), paramInit: new Map(), outputs: new Map() };
  const g = makeBuilder(ctx, declared);
  let loss: unknown;
  try {
    loss = def.build(g);
  } catch (e) {
    if (e instanceof FlatgradError) throw e;
    throw new FlatgradError(`build(g) threw: ${e instanceof Error ? e.message : String(e)}`, (e instanceof Error && siteOfError(e, file)) || fileSite, "FG101");
  }
  let lossNode: Node | undefined;
  if (loss !== undefined) {
    if (typeof loss !== "object" || loss === null || !("shape" in loss)) throw new FlatgradError(`build(g) must return the loss tensor or nothing, got ${typeof loss}`, fileSite, "FG120");
    lossNode = loss as Node;
    const at = ctx.sites.get(lossNode) ?? fileSite;
    if (size(lossNode.shape) !== 1 || lossNode.shape.length > 0)
      throw new FlatgradError(`loss: the loss must be a scalar (shape []), but it is ${fmtShape(lossNode.shape)}: reduce it, e.g. with g.mean(...)`, at, "FG121");
    const reached = new Set(topo([lossNode]));
    if (![...declared.params.values()].some((p) => reached.has(p)))
      throw new FlatgradError(`loss: the loss does not depend on any param, so there is nothing to train`, at, "FG122");
  }
  if (!lossNode && declared.outputs.size === 0) throw new FlatgradError(`the model has no outputs and no loss: declare g.output(name, tensor) or return a loss`, fileSite, "FG123");
  if (file && source) nameNodesFromSource(ctx, file, source);
  if (lossNode) ctx.name(lossNode, "loss");
  const graph: Graph = { ctx, name, dtype, inputs: declared.inputs, params: declared.params, outputs: declared.outputs, loss: lossNode, grads: new Map() };
  return { graph, optimizer, paramInit: declared.paramInit };
}

/** The model-file line of an error thrown by user code, from its stack. */
export function siteOfError(e: Error, file: string | undefined): Site | undefined {
  if (!file) return undefined;
  for (const line of e.stack?.split("\n") ?? []) {
    const i = line.indexOf(file + ":");
    if (i < 0) continue;
    const m = /^:(\d+):(\d+)/.exec(line.slice(i + file.length));
    if (m) return { file, line: Number(m[1]), col: Number(m[2]) };
  }
  return undefined;
}
