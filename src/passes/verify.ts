/** The verifier: every node's shape and dtype agree with its op's rules, and roots have the shapes and dtypes the model declares. */
import { roots, topo, type Graph } from "../ir/graph.js";
import { fmtShape, sameShape } from "../ir/shape.js";
import { nodeRules, primitive } from "../ops/index.js";

export function verify(g: Graph): Graph {
  for (const n of topo(roots(g))) {
    const def = primitive(n.op);
    const want = def.shape(n.inputs.map((c) => c.shape), { ...n.attrs });
    if (!sameShape(want, n.shape)) throw new Error(`verify: ${n.op}#${n.id} has shape ${fmtShape(n.shape)} but its rule gives ${fmtShape(want)}`);
    const dtype = nodeRules.dtype(n.op, n.inputs, { ...n.attrs }, g.dtype);
    if (dtype !== n.dtype) throw new Error(`verify: ${n.op}#${n.id} has dtype ${n.dtype} but its rule gives ${dtype}`);
    if (def.lower.kind === "source" && n.inputs.length) throw new Error(`verify: ${n.op}#${n.id} has inputs`);
  }
  for (const [name, d] of g.grads) {
    const p = g.params.get(name);
    if (!p || !sameShape(p.shape, d.shape)) throw new Error(`verify: gradient of ${name} is ${fmtShape(d.shape)}, param is ${p ? fmtShape(p.shape) : "missing"}`);
    if (d.dtype !== p.dtype) throw new Error(`verify: gradient of ${name} is ${d.dtype}, param is ${p.dtype}`);
  }
  for (const [name, u] of g.updates) {
    const buf = g.buffers.get(name);
    if (!buf || !sameShape(buf.shape, u.shape) || buf.dtype !== u.dtype)
      throw new Error(`verify: the update of buffer ${name} is ${u.dtype}${fmtShape(u.shape)}, the buffer ${buf ? `${buf.dtype}${fmtShape(buf.shape)}` : "missing"}`);
  }
  if (g.loss && g.loss.shape.length !== 0) throw new Error(`verify: the loss is not a scalar`);
  if (g.loss && g.loss.dtype !== g.dtype) throw new Error(`verify: the loss is ${g.loss.dtype}, the model ${g.dtype}`);
  return g;
}
