/** From a model definition to an IR graph: run build(g), check the model's interface, name the nodes. */
import { isNode, makeBuilder, type Declared } from "../dsl/builder.js";
import { definedAt, isModel, type OptimizerConfig } from "../dsl/define.js";
import { Ctx, topo, type FloatDType, type Graph, type Node } from "../ir/graph.js";
import { FlatgradError, fmtShape, fmtValue, type Site } from "../ir/shape.js";
import { nodeRules } from "../ops/index.js";
import type { Attrs } from "../ops/types.js";
import { checkOptimizer } from "../optim/config.js";
import { destructuredNames, nameNodesFromSource } from "./names.js";
import { nameGradients, type GradCall } from "../dsl/grad.js";
import { readFileSync } from "node:fs";

function readIfExists(f: string): string | undefined {
  try {
    return readFileSync(f, "utf8");
  } catch {
    return undefined;
  }
}
import { ModelSource } from "./sites.js";
import { userSite } from "../dsl/callsite.js";
import type { BuilderCall } from "../lint/types.js";
import { explainError, withSuggestions } from "./operands.js";

export interface BuiltModel {
  graph: Graph;
  optimizer: OptimizerConfig;
  paramInit: Map<string, Attrs>;
  /** Each buffer's init options (as params'; default zeros). */
  bufferInit: Map<string, Attrs>;
  /** What the lints read: the outermost builder calls, declaration sites, configuration field positions. */
  calls: BuilderCall[];
  declaredAt: Map<string, Site>;
  /** Every g.grad call (what `flatgrad verify` checks besides the param gradients). */
  gradCalls: GradCall[];
  fieldSite: (path: string[]) => Site | undefined;
}

const KNOWN = ["dtype", "optimizer", "build"];

export function buildModel(def: unknown, name: string, file?: string, source?: string): BuiltModel {
  // the source is parsed only when an error needs a position that no stack frame gives
  let parsed: ModelSource | undefined;
  const src = () => (file !== undefined && source !== undefined ? (parsed ??= new ModelSource(file, source)) : undefined);
  const top: Site | undefined = file ? { file, line: 1, col: 1 } : undefined;
  if (!isModel(def)) {
    const at = src()?.defaultExport();
    throw new FlatgradError(
      `the default export is not a model (it is ${describeExport(def)}): write \`export default defineModel({ build(g) { ... } })\``,
      at ? src()!.site(at) : top,
      "FG103",
    );
  }
  const defined = definedAt(def);
  // a configuration field's position in the source; else the defineModel(...) call; else the file
  const field = (path: string[]): Site | undefined => src()?.fieldSite(path, defined) ?? defined ?? top;
  for (const k of Object.keys(def))
    if (!KNOWN.includes(k)) throw new FlatgradError(`defineModel: unknown field "${k}" (known: ${KNOWN.join(", ")})`, field([k]), "FG109");
  const dtype: FloatDType = def.dtype ?? "float32";
  if (dtype !== "float32" && dtype !== "float64")
    throw new FlatgradError(`defineModel: dtype must be "float32" or "float64", got ${fmtValue(def.dtype)}`, field(["dtype"]), "FG163");
  const optimizer = checkOptimizer(def.optimizer, (path) => field(["optimizer", ...path]));
  if (typeof def.build !== "function")
    throw new FlatgradError(`defineModel: build must be a function build(g) { ... }, got ${fmtValue(def.build)}`, field(["build"]), "FG109");

  const ctx = new Ctx(nodeRules, dtype);
  const declared: Declared = {
    inputs: new Map(),
    params: new Map(),
    paramInit: new Map(),
    buffers: new Map(),
    bufferInit: new Map(),
    updates: new Map(),
    outputs: new Map(),
    sites: new Map(),
    calls: [],
    gradCalls: [],
  };
  const g = withSuggestions(makeBuilder(ctx, declared));
  let loss: unknown;
  try {
    loss = def.build(g);
  } catch (e) {
    if (e instanceof FlatgradError) {
      e.site ??= siteOfError(e, file) ?? field(["build"]);
      explainError(e, ctx, declared, (f) => (f === file ? source : readIfExists(f)));
      throw e;
    }
    const err = e instanceof Error ? e : undefined;
    const what = err ? `${err.name && err.name !== "Error" ? `${err.name}: ` : ""}${err.message.split("\n")[0]}` : fmtValue(e);
    throw new FlatgradError(`build(g) threw: ${what}`, (err && (userSite(err.stack) ?? siteOfError(err, file))) || field(["build"]), "FG108");
  }
  let lossNode: Node | undefined;
  if (loss !== undefined) {
    if (!isNode(loss))
      throw new FlatgradError(
        `build(g) must return the loss tensor (or nothing, for an inference-only model), but it returned ${fmtValue(loss)}`,
        src()?.returnSite(defined) ?? field(["build"]),
        "FG120",
      );
    lossNode = loss;
    const at = ctx.results.get(lossNode) ?? ctx.sites.get(lossNode) ?? src()?.returnSite(defined) ?? field(["build"]);
    if (lossNode.shape.length > 0)
      throw new FlatgradError(`loss: the loss must be a scalar (shape []), but it is ${fmtShape(lossNode.shape)}: reduce it, e.g. with g.mean(...)`, at, "FG121");
    const reached = topo([lossNode]);
    if (!reached.some((n) => n.op === "param")) {
      const used = [...declared.inputs].filter(([, n]) => reached.includes(n)).map(([k]) => k);
      throw new FlatgradError(
        `loss: the loss does not depend on any param (${used.length ? `it uses only the input${used.length > 1 ? "s" : ""} ${used.join(", ")}` : "it uses no param and no input"}), so there is nothing to train: build the loss from the model's params, or return nothing for an inference-only model`,
        at,
        "FG122",
      );
    }
  }
  if (!lossNode && declared.outputs.size === 0)
    throw new FlatgradError(`the model has no outputs and no loss: declare g.output(name, tensor) or return a loss from build(g)`, field(["build"]), "FG123");
  // names from every file that called the builder: the model file, helper modules it imports,
  // or (for definitions built in memory) the file that holds the definition
  for (const f of [...new Set([...ctx.results.values()].map((s) => s.file))].sort()) {
    const text = f === file ? source : readIfExists(f);
    if (text !== undefined) nameNodesFromSource(ctx, f, text);
  }
  // g.grad's tensors: `dt_u` for ∂u/∂t, or the name the file destructures them into
  const lookups = [...new Set(declared.gradCalls!.flatMap((c) => (c.site ? [c.site.file] : [])))].map((f) => {
    const text = f === file ? source : readIfExists(f);
    return text === undefined ? () => undefined : destructuredNames(f, text);
  });
  nameGradients(ctx, declared.gradCalls!, (site) => lookups.map((l) => l(site)).find((x) => x));
  if (lossNode) ctx.name(lossNode, "loss");
  const graph: Graph = {
    ctx,
    name,
    dtype,
    inputs: declared.inputs,
    params: declared.params,
    buffers: declared.buffers,
    outputs: declared.outputs,
    loss: lossNode,
    grads: new Map(),
    updates: declared.updates,
  };
  return {
    graph,
    optimizer,
    paramInit: declared.paramInit,
    bufferInit: declared.bufferInit,
    calls: declared.calls!,
    declaredAt: declared.sites,
    gradCalls: declared.gradCalls!,
    fieldSite: (path) => src()?.fieldSite(path, defined) ?? defined,
  };
}

function describeExport(v: unknown): string {
  if (v === undefined || v === null) return String(v);
  if (typeof v === "function") return "a function";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "a plain object, not the result of defineModel";
  return `${typeof v} ${fmtValue(v)}`;
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
