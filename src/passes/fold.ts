/** Constant folding: a small op whose inputs are all constants becomes a constant. */
import { mapGraph, type Graph } from "../ir/graph.js";
import { size } from "../ir/shape.js";
import { primitive } from "../ops/index.js";

/** Larger results stay computed: a folded constant is stored in the generated file. */
const MAX_FOLD = 64;

export function foldConstants(g: Graph): Graph {
  return mapGraph(g, (n, ins) => {
    const m = ins.every((c, i) => c === n.inputs[i]) ? n : g.ctx.make(n.op, ins, { ...n.attrs });
    if (m.inputs.length === 0 || !m.inputs.every((c) => c.op === "constant") || size(m.shape) > MAX_FOLD) return m;
    const def = primitive(m.op);
    if (def.lower.kind === "view" && size(m.shape) > 1) return m; // a view of a constant costs nothing
    const vals = def.eval(
      m.inputs.map((c) => primitive("constant").eval([], [], { ...c.attrs }, c.shape)),
      m.inputs.map((c) => c.shape),
      { ...m.attrs },
      m.shape,
    );
    if (![...vals].every(Number.isFinite)) return m;
    const values = vals.every((v) => v === vals[0]) ? [vals[0]!] : [...vals];
    return g.ctx.make("constant", [], { values, shape: [...m.shape] });
  });
}
