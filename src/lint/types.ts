/** What the lints read: the model as the user built it, before differentiation and simplification. */
import type { OptimizerConfig } from "../dsl/define.js";
import type { Graph, Node } from "../ir/graph.js";
import type { Site } from "../ir/shape.js";
import type { Attrs } from "../ops/types.js";

/** One outermost builder call in build(g): `g.softmax(z)` at its model-file line. */
export interface BuilderCall {
  op: string;
  args: readonly unknown[];
  result: Node;
  site: Site | undefined;
}

export interface LintInput {
  /** The graph as built (params, inputs, outputs, loss), not yet differentiated. */
  graph: Graph;
  /** Every outermost builder call, in call order. */
  calls: readonly BuilderCall[];
  optimizer: OptimizerConfig;
  paramInit: ReadonlyMap<string, Attrs>;
  /** Where a declaration was made: `param:W1` → its site. */
  declaredAt: ReadonlyMap<string, Site>;
  /** The position of a configuration field, e.g. ["optimizer", "lr"]. */
  fieldSite: (path: string[]) => Site | undefined;
}

export type LintCode = `FGW${number}`;

export interface LintWarning {
  code: LintCode;
  message: string;
  site: Site | undefined;
}
