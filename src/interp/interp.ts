/**
 * The reference interpreter: evaluates any IR graph in float64 with each op's plain-loop `eval`.
 * It is the oracle every generated module is tested against. Every dtype is held in a
 * Float64Array (int32 values are exact there); an int32 input must hold int32 values, and an
 * op whose result is int32 has it converted as an Int32Array would store it.
 */
import { roots, topo, type Graph, type Node } from "../ir/graph.js";
import { size } from "../ir/shape.js";
import { primitive } from "../ops/index.js";
import type { Mode } from "../ir/modes.js";

export type Values = Record<string, ArrayLike<number>>;

/** What else `evaluate` may be given: `given` holds values to use for some nodes instead of computing them (finite differences w.r.t. an intermediate). */
export interface EvalOptions {
  /** The buffers' current values, by name. */
  buffers?: Values;
  given?: ReadonlyMap<Node, ArrayLike<number>>;
  /** eval (default): what `forward` computes; train: what `lossAndGrad` computes (src/ir/modes.ts). */
  mode?: Mode;
}

const SOURCES: Record<string, "inputs" | "params" | "buffers"> = { input: "inputs", param: "params", buffer: "buffers" };

export function evaluate(rootNodes: readonly Node[], inputs: Values, params: Values, { buffers = {}, given, mode = "eval" }: EvalOptions = {}): Map<Node, Float64Array> {
  const vals = new Map<Node, Float64Array>();
  for (const n of topo(rootNodes)) {
    let v: Float64Array;
    const fixed = given?.get(n);
    const branch = primitive(n.op).modeBranch?.[mode];
    if (fixed) {
      if (fixed.length !== size(n.shape)) throw new Error(`interpreter: the value given for ${n.op}#${n.id} has ${fixed.length} values, not ${size(n.shape)}`);
      v = Float64Array.from(fixed);
    } else if (branch !== undefined) v = vals.get(n.inputs[branch]!)!;
    else if (SOURCES[n.op]) {
      const src = { inputs, params, buffers }[SOURCES[n.op]!][n.attrs.name as string];
      if (!src) throw new Error(`interpreter: no value for ${n.op} "${String(n.attrs.name)}"`);
      if (src.length !== size(n.shape)) throw new Error(`interpreter: ${n.op} "${String(n.attrs.name)}" needs ${size(n.shape)} values, got ${src.length}`);
      v = Float64Array.from(src);
      const bad = n.dtype === "int32" ? v.findIndex((x) => (x | 0) !== x) : -1;
      if (bad >= 0) throw new Error(`interpreter: int32 input "${String(n.attrs.name)}" holds ${v[bad]} at ${bad}, not an int32 value`);
    } else {
      v = primitive(n.op).eval(n.inputs.map((c) => vals.get(c)!), n.inputs.map((c) => c.shape), { ...n.attrs }, n.shape);
      if (n.dtype === "int32") v = Float64Array.from(Int32Array.from(v));
    }
    vals.set(n, v);
  }
  return vals;
}

/**
 * Run a whole graph in float64 as the generated module's entry points do: the outputs and
 * `evalLoss` in eval mode (forward, loss); the loss, the gradients and the buffers' new values
 * after a training step (`updates`; the buffers themselves are not changed) in training mode.
 */
export function interpret(g: Graph, inputs: Values, params: Values, buffers: Values = {}) {
  const all = roots(g);
  const evalRoots = [...g.outputs.values(), ...(g.loss ? [g.loss] : [])];
  // a graph whose modes do not differ is evaluated once
  const modal = topo(all).some((n) => primitive(n.op).modeBranch);
  const ev = evaluate(modal ? evalRoots : all, inputs, params, { buffers, mode: "eval" });
  const tr = modal ? evaluate(all, inputs, params, { buffers, mode: "train" }) : ev;
  const pick = (m: ReadonlyMap<string, Node>, vals: Map<Node, Float64Array>) => Object.fromEntries([...m].map(([k, n]) => [k, vals.get(n)!]));
  return {
    outputs: pick(g.outputs, ev),
    loss: g.loss ? tr.get(g.loss)![0]! : undefined,
    evalLoss: g.loss ? ev.get(g.loss)![0]! : undefined,
    grads: pick(g.grads, tr),
    updates: pick(g.updates, tr),
  };
}
