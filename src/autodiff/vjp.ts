/**
 * Reverse mode as a transformation of the graph: `vjp` adds, for each tensor in `wrt`, the
 * nodes of ∂⟨roots, cotangents⟩/∂wrt. Each op's vjp adds IR nodes and the contributions a node
 * receives from its users are summed (fan-in), so gradients are graph nodes like any other:
 * simplified, fused, printed, explained, and differentiated again (the result of one `vjp` may
 * be a root of the next). The pipeline's `differentiate` pass and, later, the DSL's `g.grad`
 * both call it.
 */
import { makeBuilder, type Builder } from "../dsl/builder.js";
import { orderOf, topo, type Ctx, type Node } from "../ir/graph.js";
import { FlatgradError, fmtShape, sameShape } from "../ir/shape.js";
import { primitive } from "../ops/index.js";

/**
 * Fan-in: a node read by several users receives the sum of their contributions (the
 * multivariate chain rule). One object, so that the mutation tests can replace it and show
 * that the gradient suite notices.
 */
export const fanIn = {
  combine: (b: Builder, parts: Node[]): Node => parts.slice(1).reduce((acc, p) => b.add(acc, p), parts[0]!),
};

/**
 * ∂⟨roots, cotangents⟩/∂w for each w in `wrt` (params, inputs or intermediates), where
 * ⟨·,·⟩ sums over every root the elementwise products with its cotangent (shaped like the
 * root). A w the roots do not reach gets zeros. Only nodes on a path from some w to a root are
 * differentiated; integer nodes never are (no gradient flows into or out of them).
 */
export interface VjpOptions {
  /**
   * Name the gradient `d` of the forward node `n` (default: `d<name of n>`); `g.grad` defers the
   * names until the model file's variable names are known.
   */
  name?(n: Node, d: Node): void;
}

export function vjp(ctx: Ctx, roots: readonly Node[], cotangents: readonly Node[], wrt: readonly Node[], opts: VjpOptions = {}): Node[] {
  if (roots.length !== cotangents.length) throw new Error(`internal: vjp of ${roots.length} roots with ${cotangents.length} cotangents`);
  roots.forEach((r, i) => {
    const c = cotangents[i]!;
    if (r.dtype === "int32") throw new FlatgradError(`vjp: root ${i} is an int32 tensor ${fmtShape(r.shape)}: integer tensors carry no gradient`, undefined, "FG165");
    if (!sameShape(r.shape, c.shape) || c.dtype !== r.dtype)
      throw new Error(`internal: vjp: the cotangent of root ${i} is ${c.dtype}${fmtShape(c.shape)}, the root ${r.dtype}${fmtShape(r.shape)}`);
  });
  wrt.forEach((w, i) => {
    if (w.dtype === "int32") throw new FlatgradError(`vjp: wrt ${i} is an int32 tensor ${fmtShape(w.shape)}: integer tensors carry no gradient`, undefined, "FG165");
  });
  const b = makeBuilder(ctx);
  const order = topo(roots);
  // a node needs a gradient when one of `wrt` is it or is upstream of it
  const targets = new Set(wrt);
  const needs = new Set<Node>();
  for (const n of order) if (n.dtype !== "int32" && (targets.has(n) || n.inputs.some((c) => needs.has(c)))) needs.add(n);

  const contributions = new Map<Node, Node[]>();
  const add = (n: Node, v: Node) => contributions.set(n, [...(contributions.get(n) ?? []), v]);
  roots.forEach((r, i) => needs.has(r) && add(r, cotangents[i]!));
  const total = new Map<Node, Node>();
  const orders = new Map<Node, number>();
  const outer = ctx.makingOrder;
  try {
    for (let i = order.length - 1; i >= 0; i--) {
      const n = order[i]!;
      const parts = contributions.get(n);
      if (!needs.has(n) || !parts) continue;
      // what this node's derivative is made of is one order above the node, and never below the cotangent it
      // carries: at a forward node (t, a param) of g.grad of g.grad, the parts are second derivatives (Ctx.order)
      const above = orderOf(ctx, n, orders) + 1;
      ctx.makingOrder = Math.max(above, ...parts.map((p) => orderOf(ctx, p, orders)));
      const site = ctx.sites.get(n);
      const d = ctx.at(site, () => fanIn.combine(b, parts));
      const name = ctx.names.get(n);
      if (opts.name) opts.name(n, d);
      else if (name) ctx.name(d, `d${name}`);
      if (!ctx.gradOf.has(d)) ctx.gradOf.set(d, n);
      total.set(n, d);
      if (n.inputs.length === 0) continue;
      const vjps = ctx.at(site, () => primitive(n.op).vjp({ inputs: n.inputs, out: n, dy: d, attrs: n.attrs }, b));
      n.inputs.forEach((c, k) => {
        const v = vjps[k];
        if (!v || !needs.has(c)) return;
        // differentiating a gradient again (second order): the part of dW1 that comes of dt_u is dW1_of_dt_u
        const cName = ctx.names.get(c);
        if (name && cName && above > 1 && !opts.name) ctx.name(v, `d${cName}_of_${name}`);
        add(c, v);
      });
    }
  } finally {
    ctx.makingOrder = outer;
  }
  // a tensor the roots do not reach gets a zero gradient
  return wrt.map((w) => total.get(w) ?? ctx.at(ctx.sites.get(w), () => b.broadcastTo(0, [...w.shape])));
}
