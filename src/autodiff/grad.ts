/**
 * The pipeline's differentiation pass: dL/dparam for every param, by `vjp` (a transformation
 * any stage may call) of the loss with cotangent 1.
 */
import { roots, topo, type Graph, type Node } from "../ir/graph.js";
import { vjp } from "./vjp.js";

export { fanIn } from "./vjp.js";

/** Add dL/dparam for every param to the graph's roots (only nodes between params and the loss are differentiated). */
export function differentiate(g: Graph): Graph {
  const { ctx, loss } = g;
  if (!loss) return g;
  const one = ctx.at(ctx.sites.get(loss), () => ctx.make("constant", [], { values: [1], shape: [...loss.shape] }));
  const ds = vjp(ctx, [loss], [one], [...g.params.values()]);
  return { ...g, grads: new Map([...g.params.keys()].map((name, i) => [name, ds[i]!])) };
}

/** Every node a graph's roots reach (for checks and statistics). */
export const reachable = (g: Graph): Node[] => topo(roots(g));
