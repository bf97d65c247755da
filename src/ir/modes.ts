/**
 * Modes: training and eval read the same graph; `byMode(train, eval)` nodes say where they
 * differ. An entry point is specialised to its mode before it is lowered or interpreted: each
 * `byMode` is replaced by its branch, and what no longer differs is the same interned node, so
 * the two modes share every kernel they can.
 */
import { primitive } from "../ops/index.js";
import { topo, withInputs, type Ctx, type Node } from "./graph.js";

export type Mode = "train" | "eval";

export function specialise(ctx: Ctx, roots: readonly Node[], mode: Mode): Node[] {
  const memo = new Map<Node, Node>();
  for (const n of topo(roots)) {
    const ins = n.inputs.map((c) => memo.get(c)!);
    const branch = primitive(n.op).modeBranch?.[mode];
    const out = branch !== undefined ? ins[branch]! : ctx.at(ctx.sites.get(n), () => withInputs(ctx, n, ins));
    if (out !== n && branch === undefined) {
      // the specialised node is the same value in one mode: it keeps the name and the gradient it stood for
      const name = ctx.names.get(n);
      if (name) ctx.name(out, name);
      const of = ctx.gradOf.get(n);
      if (of && !ctx.gradOf.has(out)) ctx.gradOf.set(out, of);
      const role = ctx.roles.get(n);
      if (role && !ctx.roles.has(out)) ctx.roles.set(out, role);
    }
    // a branch that no name of its own reaches takes the name the model file gave the value (`p1` for
    // training's gathered max pool, as for eval's), so both modes' kernels read as the model file does
    const name = branch !== undefined && ctx.names.get(n);
    if (name && !ctx.names.has(out)) ctx.name(out, name);
    memo.set(n, out);
  }
  return roots.map((r) => memo.get(r)!);
}
