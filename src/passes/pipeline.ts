/**
 * The pass order, as one readable list. Dead-code elimination and common-subexpression
 * elimination need no pass of their own: graphs are their roots' reachable nodes, and nodes are
 * interned, so equal expressions are one node.
 */
import { differentiate } from "../autodiff/grad.js";
import type { Graph } from "../ir/graph.js";
import { foldConstants } from "./fold.js";
import { afterDifferentiation, simplify, stabilisations, type Rewrite } from "./simplify.js";
import { verify } from "./verify.js";

export interface PassLog {
  rewrites: Rewrite[];
}

export const pipeline: { name: string; run(g: Graph, log: PassLog): Graph }[] = [
  { name: "verify", run: (g) => verify(g) },
  { name: "stabilise", run: (g, log) => simplify(g, log.rewrites, stabilisations) },
  { name: "differentiate", run: (g) => differentiate(g) },
  { name: "verify", run: (g) => verify(g) },
  // after the last differentiation (gradients in the model, g.grad, are derived before this list runs)
  { name: "dropStopGradients", run: (g, log) => simplify(g, log.rewrites, afterDifferentiation) },
  { name: "simplify", run: (g, log) => simplify(g, log.rewrites) },
  { name: "foldConstants", run: (g) => foldConstants(g) },
  { name: "simplify", run: (g, log) => simplify(g, log.rewrites) },
  { name: "verify", run: (g) => verify(g) },
];

export function runPipeline(g: Graph, log: PassLog = { rewrites: [] }): Graph {
  return pipeline.reduce((acc, p) => p.run(acc, log), g);
}
