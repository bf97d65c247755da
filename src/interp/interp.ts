/**
 * The reference interpreter: evaluates any IR graph in float64 with each op's plain-loop `eval`.
 * It is the oracle every generated module is tested against.
 */
import { topo, type Graph, type Node } from "../ir/graph.js";
import { size } from "../ir/shape.js";
import { primitive } from "../ops/index.js";
import type { Mode } from "../ir/modes.js";

export type Values = Record<string, ArrayLike<number>>;

/** Evaluate `rootNodes` in `mode` (eval: what `forward` and `loss` compute; train: what `lossAndGrad` computes). */
export function evaluate(rootNodes: readonly Node[], inputs: Values, params: Values, mode: Mode = "eval"): Map<Node, Float64Array> {
  const vals = new Map<Node, Float64Array>();
  for (const n of topo(rootNodes)) {
    let v: Float64Array;
    const branch = primitive(n.op).modeBranch?.[mode];
    if (branch !== undefined) v = vals.get(n.inputs[branch]!)!;
    else if (n.op === "input" || n.op === "param") {
      const src = (n.op === "input" ? inputs : params)[n.attrs.name as string];
      if (!src) throw new Error(`interpreter: no value for ${n.op} "${String(n.attrs.name)}"`);
      if (src.length !== size(n.shape)) throw new Error(`interpreter: ${n.op} "${String(n.attrs.name)}" needs ${size(n.shape)} values, got ${src.length}`);
      v = Float64Array.from(src);
    } else {
      v = primitive(n.op).eval(n.inputs.map((c) => vals.get(c)!), n.inputs.map((c) => c.shape), { ...n.attrs }, n.shape);
    }
    vals.set(n, v);
  }
  return vals;
}

/**
 * Run a whole graph in float64 as the generated module's entry points do: the outputs and
 * `evalLoss` in eval mode (forward, loss), the loss and gradients in training mode (lossAndGrad).
 */
export function interpret(g: Graph, inputs: Values, params: Values) {
  const all = [...g.outputs.values(), ...(g.loss ? [g.loss] : []), ...g.grads.values()];
  // a graph whose modes do not differ is evaluated once
  const modal = topo(all).some((n) => primitive(n.op).modeBranch);
  const ev = evaluate(modal ? [...g.outputs.values(), ...(g.loss ? [g.loss] : [])] : all, inputs, params, "eval");
  const tr = modal ? evaluate([...(g.loss ? [g.loss] : []), ...g.grads.values()], inputs, params, "train") : ev;
  const pick = (m: ReadonlyMap<string, Node>, vals: Map<Node, Float64Array>) => Object.fromEntries([...m].map(([k, n]) => [k, vals.get(n)!]));
  return {
    outputs: pick(g.outputs, ev),
    loss: g.loss ? tr.get(g.loss)![0]! : undefined,
    evalLoss: g.loss ? ev.get(g.loss)![0]! : undefined,
    grads: pick(g.grads, tr),
  };
}
