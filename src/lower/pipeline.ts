/**
 * Lowering, as one readable list of stages over plain data: each takes the graph and what the
 * stages before it produced, and returns data that a test can print (src/lower/print.ts).
 *
 *   fuse      which nodes fold into their reader's loop; which tails fuse into a kernel's store
 *   allocate  buffers (with dtypes and roles), names, views and copies
 *   kernels   one loop nest per materialised node: what it reads, its math, its SIMD plan
 *   schedule  the kernels of each entry point (forward in eval mode; lossAndGrad in training)
 *   memory    one arena for every buffer, optimizer state included; temporaries share by lifetime
 *
 * Rendering is emit's (src/emit): each kernel writes its loops (src/lower/loops.ts) there.
 */
import type { Graph } from "../ir/graph.js";
import { allocate, type Storage } from "./buffers.js";
import { fuse, type Fusion } from "./fuse.js";
import { kernels, type Kernels } from "./kernels.js";
import { planMemory } from "./memory.js";
import type { Program } from "./program.js";
import { schedule, type Schedule } from "./schedule.js";

export interface LowerOptions {
  /** The optimizer's state names per param (torch's: `exp_avg`, `momentum_buffer`, …), in arena order. */
  optimizerState: string[];
  /** The readable build (`--readable`): no SIMD plans, and kernel ops write plain loops (no register blocking). */
  readable?: boolean;
}

/** What the stages have produced so far. */
export interface Lowered {
  graph: Graph;
  options: LowerOptions;
  fusion: Fusion;
  storage: Storage;
  kernels: Kernels;
  schedule: Schedule;
  arenaBytes: number;
}

type Stage = { [K in keyof Lowered]: { name: K; run(l: Lowered): Lowered[K] } }[Exclude<keyof Lowered, "graph" | "options">];

export const stages: readonly Stage[] = [
  { name: "fusion", run: (l) => fuse(l.graph) },
  { name: "storage", run: (l) => allocate(l.graph, l.fusion, l.options.optimizerState) },
  { name: "kernels", run: (l) => kernels(l.graph, l.fusion, l.storage, l.options.readable === true) },
  { name: "schedule", run: (l) => schedule(l.graph, l.fusion, l.storage, l.kernels) },
  {
    name: "arenaBytes",
    run: ({ storage: s, schedule: p }) =>
      planMemory(s.buffers, [
        { kernels: p.forward, returns: [...p.outputs.values()] },
        { kernels: p.evalLoss, returns: p.evalLossBuffer ? [p.evalLossBuffer] : [] },
        { kernels: p.train, returns: p.loss ? [p.loss] : [] },
      ]),
  },
];

/** Run the stages up to and including `until` (all by default); the result holds every stage's data. */
export function runStages(graph: Graph, options: LowerOptions, until?: Stage["name"]): Lowered {
  const l = { graph, options } as Lowered;
  for (const st of stages) {
    (l as unknown as Record<string, unknown>)[st.name] = st.run(l);
    if (st.name === until) break;
  }
  return l;
}

export function lower(graph: Graph, options: LowerOptions = { optimizerState: [] }): Program {
  const { storage: s, schedule: p, arenaBytes } = runStages(graph, options);
  return {
    ...p,
    graph,
    buffers: s.buffers.filter((b) => b.offset >= 0),
    arenaBytes,
    inputLocals: s.inputLocals,
    params: s.params,
    buffersOf: s.buffersOf,
    grads: s.grads,
    optimizer: s.optimizer,
    names: s.names,
    namer: s.namer,
  };
}
