/** The verifier: every node's shape agrees with its op's shape rule, and roots have the shapes the model declares. */
import { roots, topo, type Graph } from "../ir/graph.js";
import { fmtShape, sameShape } from "../ir/shape.js";
import { primitive } from "../ops/index.js";

export function verify(g: Graph): Graph {
  for (const n of topo(roots(g))) {
    const def = primitive(n.op);
    const want = def.shape(n.inputs.map((c) => c.shape), { ...n.attrs });
    if (!sameShape(want, n.shape)) throw new Error(`verify: ${n.op}#${n.id} has shape ${fmtShape(n.shape)} but its rule gives ${fmtShape(want)}`);
    if ((n.op === "input" || n.op === "param") && n.inputs.length) throw new Error(`verify: ${n.op}#${n.id} has inputs`);
  }
  for (const [name, d] of g.grads) {
    const p = g.params.get(name);
    if (!p || !sameShape(p.shape, d.shape)) throw new Error(`verify: gradient of ${name} is ${fmtShape(d.shape)}, param is ${p ? fmtShape(p.shape) : "missing"}`);
  }
  if (g.loss && g.loss.shape.length !== 0) throw new Error(`verify: the loss is not a scalar`);
  return g;
}
