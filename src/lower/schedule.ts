/**
 * Stage 4, schedule per entry point: the kernels of `forward` (eval mode: the outputs) and of
 * `lossAndGrad` (training: the loss, then the gradients), each in an order where every value is
 * computed before its first reader. A root that is a view or a source is copied into a buffer
 * of its own; inputs that a WebAssembly kernel reads are copied into the arena.
 */
import { topo, type Graph, type Node } from "../ir/graph.js";
import { size } from "../ir/shape.js";
import { bufferReads } from "../wasm/plan.js";
import type { Storage } from "./buffers.js";
import { kindOf, type Fusion } from "./fuse.js";
import type { Kernels } from "./kernels.js";
import type { Kernel } from "./program.js";

/** The entry points: `forward` (eval mode: the outputs), `evalLoss` (the loss in eval mode) and `train` (lossAndGrad: loss, gradients, buffer updates). */
export interface Schedule {
  forward: Kernel[];
  evalLoss: Kernel[];
  train: Kernel[];
  outputs: Map<string, string>;
  /** The buffer of the eval loss and of the training loss (the same one when the modes do not differ). */
  evalLossBuffer: string | undefined;
  loss: string | undefined;
  /** Input local → its arena copy, for the inputs a SIMD kernel reads. */
  inputCopies: Map<string, string>;
  /** The inputs each entry point reads, by name. */
  forwardInputs: string[];
  trainInputs: string[];
}

export function schedule(g: Graph, f: Fusion, s: Storage, ks: Kernels): Schedule {
  /** Kernels by a post-order walk from the roots; `into`: the root is copied into that buffer. */
  const entry = (rootsHere: { node: Node; into?: string }[]): Kernel[] => {
    const out: Kernel[] = [];
    const done = new Set<Node>();
    const ensure = (n: Node): void => {
      if (done.has(n)) return;
      done.add(n);
      for (const c of n.inputs) ensure(c);
      const k = kindOf(n);
      if (f.fused.has(n)) return;
      if (s.needCopy.has(n) || k === "elementwise" ? !f.inlined.has(n) : k === "reduce" || k === "kernel") out.push(ks.of(n));
    };
    for (const r of rootsHere) {
      ensure(r.node);
      if (r.into) out.push(ks.copy(r.node, r.into));
    }
    return out;
  };
  const computedInPlace = (n: Node) => !f.inlined.has(n) && !s.needCopy.has(n) && ["elementwise", "reduce", "kernel"].includes(kindOf(n));
  /** A root's buffer: its kernel's own when it computes one, else a copy named `preferred`. */
  const rootOf = (n: Node, preferred: string, length: number): { buf: string; root: { node: Node; into?: string } } => {
    if (computedInPlace(n)) return { buf: s.viewOf(n)!.base, root: { node: n } };
    const buf = s.add(preferred, length, "temp", n.dtype);
    return { buf, root: { node: n, into: buf } };
  };

  const e = f.entries;
  let loss: string | undefined;
  const trainList: { node: Node; into?: string }[] = [];
  if (e.loss) {
    const { buf, root } = rootOf(e.loss, "loss", 1);
    loss = buf;
    trainList.push(root);
  }
  for (const [pn, d] of [...e.grads].reverse()) trainList.push(s.gradRootCopy.has(d) ? { node: d, into: s.grads.get(pn)! } : { node: d });
  // the buffers' new values are all computed before any is written: one may read another's old value
  for (const v of e.updates.values()) trainList.push({ node: v });
  // training's kernels first: where the modes differ, its values claim the model file's names (p1; eval's is p1_2)
  const train = [...entry(trainList), ...[...e.updates].map(([bn, v]) => ({ ...ks.copy(v, s.buffersOf.get(bn)!), updates: bn }))];
  const outputs = new Map<string, string>();
  const forwardList = [...e.outputs].map(([oname, n]) => {
    const { buf, root } = rootOf(n, oname, size(n.shape));
    outputs.set(oname, buf);
    return root;
  });
  const forward = entry(forwardList);
  const evalRoot = e.evalLoss && (e.evalLoss === e.loss ? { buf: loss!, root: trainList[0]! } : rootOf(e.evalLoss, "evalLoss", 1));
  const evalLoss = evalRoot ? entry([evalRoot.root]) : [];
  const inputCopies = new Map<string, string>();
  const simdReads = new Set([...forward, ...evalLoss, ...train].flatMap((k) => (k.simd ? bufferReads(k.simd.plan) : [])));
  for (const [iname, local] of s.inputLocals)
    if (simdReads.has(local)) inputCopies.set(local, s.add(`${local}_copy`, size(g.inputs.get(iname)!.shape), "input", g.inputs.get(iname)!.dtype));
  const forwardSet = new Set(topo([...f.forwardRoots, ...(e.loss ? [e.loss] : [])]));
  for (const k of train) k.backward = !forwardSet.has(k.node);
  const lossAndGrads = new Set(topo([...(e.loss ? [e.loss] : []), ...e.grads.values()]));
  for (const k of train) if (!k.updates && !lossAndGrads.has(k.node)) k.forState = true;
  const inputsOf = (kernels: Kernel[]) => [...s.inputLocals].filter(([, local]) => kernels.some((k) => k.reads.has(local))).map(([n]) => n);
  return { forward, evalLoss, train, outputs, evalLossBuffer: evalRoot?.buf, loss, inputCopies, forwardInputs: inputsOf(forward), trainInputs: [...g.inputs.keys()] };
}
