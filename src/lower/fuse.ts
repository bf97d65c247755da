/**
 * Stage 1, group and fuse: which nodes are folded into their consumer's loop, and which
 * elementwise tails are applied inside a kernel as it stores (z = x·Wᵀ + b, a = relu(z) as one
 * kernel). Nothing is named or allocated yet.
 */
import { topo, type Graph, type Node } from "../ir/graph.js";
import { specialise } from "../ir/modes.js";
import { sameShape } from "../ir/shape.js";
import { primitive } from "../ops/index.js";
import type { Lowering } from "../ops/types.js";

/** The roots of each entry point, each specialised to its mode (src/ir/modes.ts). */
export interface Entries {
  /** `forward`, in eval mode: the outputs. */
  outputs: Map<string, Node>;
  /** `loss`, in eval mode. */
  evalLoss: Node | undefined;
  /** `lossAndGrad` and `step`, in training mode: the loss and dL/dparam. */
  loss: Node | undefined;
  grads: Map<string, Node>;
  /** Training mode too: each buffer's new value, written into it after the gradients (none without a loss). */
  updates: Map<string, Node>;
}

export interface Fusion {
  entries: Entries;
  /** The roots of each entry point: forward's outputs; eval's loss; training's loss, the gradients (last param first), the buffers' updates. */
  forwardRoots: Node[];
  evalLossRoots: Node[];
  trainRoots: Node[];
  /** Every node the entry points reach, inputs before users. */
  order: Node[];
  /** Each node's readers. */
  uses: Map<Node, Node[]>;
  /** Elementwise nodes computed inside their single reader's loop: no buffer of their own. */
  inlined: Set<Node>;
  /** Materialised elementwise node → the kernel node whose store applies it (its accumulator). */
  epilogueOf: Map<Node, Node>;
  /** Kernel nodes whose result only exists inside the epilogue of another node's kernel. */
  fused: Set<Node>;
}

export const lowering = (n: Node): Lowering => primitive(n.op).lower;
export const kindOf = (n: Node): Lowering["kind"] => lowering(n).kind;
/** The source kind of an input, param or constant node (undefined for computed nodes). */
export const sourceOf = (n: Node) => {
  const lw = lowering(n);
  return lw.kind === "source" ? lw.source : undefined;
};

/** Each entry point's roots in its mode: what no longer differs between the modes is the same node. */
export function entriesOf(g: Graph): Entries {
  const outs = [...g.outputs];
  const ev = specialise(g.ctx, [...outs.map(([, n]) => n), ...(g.loss ? [g.loss] : [])], "eval");
  const grads = [...g.grads];
  // training's entry point exists only with a loss (an inference-only model's lossAndGrad and step
  // throw): without one, no buffer update is a root, so nothing lowers nodes that no entry point runs
  const updates = g.loss ? [...g.updates] : [];
  const tr = specialise(g.ctx, [...(g.loss ? [g.loss] : []), ...grads.map(([, n]) => n), ...updates.map(([, n]) => n)], "train");
  const at = (i: number) => tr[i + (g.loss ? 1 : 0)]!;
  return {
    outputs: new Map(outs.map(([k], i) => [k, ev[i]!])),
    evalLoss: g.loss && ev[outs.length],
    loss: g.loss && tr[0],
    grads: new Map(grads.map(([k], i) => [k, at(i)])),
    updates: new Map(updates.map(([k], i) => [k, at(grads.length + i)])),
  };
}

/**
 * Trap: an epilogue is written at every store of the kernel's register block (8 in JavaScript, and
 * a load per operand per block in WebAssembly), so a long one, the Σₜ of an unrolled recurrence's
 * weight gradient (one matmul per step, all summed), would make the kernel's text grow with the
 * steps. Past this many reads the sum is a loop of its own: one line, and the same memory traffic.
 */
export const MAX_EPILOGUE_READS = 8;

export function fuse(g: Graph): Fusion {
  const entries = entriesOf(g);
  const forwardRoots = [...entries.outputs.values()];
  const evalLossRoots = entries.evalLoss ? [entries.evalLoss] : [];
  const trainRoots = entries.loss ? [entries.loss, ...[...entries.grads.values()].reverse(), ...entries.updates.values()] : [];
  // training first: where the modes differ, training's values claim the model file's names (p1, not p1_2)
  const order = topo([...trainRoots, ...forwardRoots, ...evalLossRoots]);
  const uses = new Map<Node, Node[]>();
  for (const n of order) for (const c of n.inputs) uses.set(c, [...(uses.get(c) ?? []), n]);
  const rootSet = new Set([...forwardRoots, ...evalLossRoots, ...trainRoots]);

  // an elementwise node with one reader of its own shape (or a reduction) is computed in that reader's loop
  const inlined = new Set<Node>();
  for (const n of order) {
    if (kindOf(n) !== "elementwise" || rootSet.has(n)) continue;
    const us = uses.get(n) ?? [];
    if (us.length !== 1) continue;
    const u = us[0]!;
    const uk = kindOf(u);
    if ((uk === "elementwise" && sameShape(u.shape, n.shape)) || uk === "reduce") inlined.add(n);
  }

  // a kernel whose only reader chain is elementwise at its shape stores through that chain's last node,
  // unless that chain reads more than MAX_EPILOGUE_READS buffers
  const reads = (n: Node): number => n.inputs.reduce((r, c) => r + (inlined.has(c) ? reads(c) : 1), 0);
  const epilogueOf = new Map<Node, Node>();
  const fused = new Set<Node>();
  for (const n of order) {
    const lw = lowering(n);
    if (lw.kind !== "kernel" || !lw.fusesEpilogue?.(n.inputs.map((c) => c.shape)) || rootSet.has(n)) continue;
    const us = uses.get(n) ?? [];
    let u: Node | undefined = us.length === 1 ? us[0] : undefined;
    while (u && kindOf(u) === "elementwise" && sameShape(u.shape, n.shape) && inlined.has(u)) u = uses.get(u)![0];
    if (!u || kindOf(u) !== "elementwise" || inlined.has(u) || !sameShape(u.shape, n.shape) || epilogueOf.has(u) || reads(u) > MAX_EPILOGUE_READS) continue;
    epilogueOf.set(u, n);
    fused.add(n);
  }
  return { entries, forwardRoots, evalLossRoots, trainRoots, order, uses, inlined, epilogueOf, fused };
}
