/**
 * Reverse-mode differentiation as graph construction: each op's vjp adds IR nodes, the
 * contributions a node receives from its users are summed (fan-in), and the result is a backward
 * graph that the passes simplify and the code generator emits like any other.
 */
import { makeBuilder, type Builder } from "../dsl/builder.js";
import { roots, topo, type Graph, type Node } from "../ir/graph.js";
import { primitive } from "../ops/index.js";

/**
 * Fan-in: a node read by several users receives the sum of their contributions (the
 * multivariate chain rule). One object, so that the mutation tests can replace it and show
 * that the gradient suite notices.
 */
export const fanIn = {
  combine: (b: Builder, parts: Node[]): Node => parts.slice(1).reduce((acc, p) => b.add(acc, p), parts[0]!),
};

/** Add dL/dparam for every param to the graph's roots (only nodes between params and the loss are differentiated). */
export function differentiate(g: Graph): Graph {
  if (!g.loss) return g;
  const { ctx } = g;
  const b = makeBuilder(ctx);
  const order = topo([g.loss]);
  // a node needs a gradient when a param is upstream of it
  const needs = new Set<Node>();
  // (integer nodes never do: no gradient flows into or out of them)
  for (const n of order) if (n.dtype !== "int32" && (n.op === "param" || n.inputs.some((c) => needs.has(c)))) needs.add(n);

  const contributions = new Map<Node, Node[]>();
  const total = new Map<Node, Node>();
  contributions.set(g.loss, [ctx.at(ctx.sites.get(g.loss), () => ctx.make("constant", [], { values: [1], shape: [...g.loss!.shape] }))]);
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    const parts = contributions.get(n);
    if (!needs.has(n) || !parts) continue;
    const site = ctx.sites.get(n);
    const d = ctx.at(site, () => fanIn.combine(b, parts));
    const name = ctx.names.get(n);
    if (name) ctx.name(d, `d${name}`);
    if (!ctx.gradOf.has(d)) ctx.gradOf.set(d, n);
    total.set(n, d);
    if (n.inputs.length === 0) continue;
    const vjps = ctx.at(site, () => primitive(n.op).vjp({ inputs: n.inputs, out: n, dy: d, attrs: n.attrs }, b));
    n.inputs.forEach((c, k) => {
      const v = vjps[k];
      if (v && needs.has(c)) contributions.set(c, [...(contributions.get(c) ?? []), v]);
    });
  }
  const grads = new Map<string, Node>();
  for (const [name, p] of g.params) {
    // a param the loss does not reach gets a zero gradient
    grads.set(name, total.get(p) ?? ctx.at(ctx.sites.get(p), () => b.broadcastTo(0, [...p.shape])));
  }
  return { ...g, grads };
}

/** Every node a graph's roots reach (for checks and statistics). */
export const reachable = (g: Graph): Node[] => topo(roots(g));
