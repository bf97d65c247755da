/**
 * Stage 3, kernels: one loop nest per materialised node, with what it reads (for lifetimes), its
 * math comment, and its SIMD plan when its op declares one. Folded producers are expanded into
 * the kernel's expression; a fused tail is rendered at a kernel op's accumulator.
 */
import type { Graph, Node } from "../ir/graph.js";
import type { Lanes, Lowering } from "../ops/types.js";
import { vector, type LaneEpilogue } from "../wasm/matmul.js";
import { mapLanes, planMap } from "../wasm/map.js";
import { Func } from "../wasm/module.js";
import { epilogueFits } from "../wasm/plan.js";
import { isScalarConst, type Storage } from "./buffers.js";
import { kindOf, lowering, type Fusion } from "./fuse.js";
import { broadcastView, collectReads, emitElementwise, emitReduce, leaves, mergeAxes, readAccFrom, render, type Expr } from "./loops.js";
import { fmtNum, mathWriter } from "./math.js";
import type { Kernel } from "./program.js";
import { contiguous, read, type KernelWriter, type View } from "./view.js";
import type { Shape } from "../ir/shape.js";

export interface Kernels {
  /** The kernel that computes `n` into its own buffer (made once per node). */
  of(n: Node): Kernel;
  /** A kernel that copies `n`'s value into buffer `into` (a root that is a view or a source). */
  copy(n: Node, into: string): Kernel;
}

type Kind<K extends Lowering["kind"]> = Extract<Lowering, { kind: K }>;

/** `readable`: the readable build, whose kernel ops get no SIMD plan and write plain loops (`KernelWriter.readable`). */
export function kernels(g: Graph, f: Fusion, s: Storage, readable = false): Kernels {
  const mathOf = mathWriter(f, s, g.ctx.names);

  /** The expression that computes `n` at loop shape `S` (folded producers expanded). */
  const exprOf = (n: Node, S: Shape): Expr => {
    if (f.fused.has(n)) return { kind: "acc" };
    if (isScalarConst(n) && !s.bufOf.has(n)) return { kind: "lit", text: fmtNum((n.attrs.values as number[])[0]!) };
    if (f.inlined.has(n)) return { kind: "op", node: n, args: n.inputs.map((c) => exprOf(c, S)) };
    const v = s.viewOf(n);
    return v === null ? exprOf(n.inputs[0]!, S) : { kind: "leaf", view: broadcastView(v, S), node: n };
  };
  /** `n`'s value read without its own buffer: what a copy kernel copies. */
  const rawExpr = (n: Node): Expr => {
    if (kindOf(n) !== "view") return exprOf(n, n.shape);
    const v = s.rawView(n);
    return v === null ? exprOf(n.inputs[0]!, n.shape) : { kind: "leaf", view: v, node: n };
  };
  /** A kernel op's SIMD plan: float32 models only (the WebAssembly kernels are f32x4), and never in the readable build. */
  const simdOf = (n: Node, ins: View[]) => (g.dtype === "float32" && !readable ? (lowering(n) as Kind<"kernel">).simd?.(ins, { ...n.attrs }, n.inputs) : undefined);
  /** The writer a kernel op writes its loops with: it tells the op when the build is the readable one. */
  const opWriter = (w: KernelWriter): KernelWriter => (readable ? { ...w, readable: true } : w);

  // fusion and storage decided inlining, buffers and copies only for the nodes that the entry points' roots reach
  const reached = new Set(f.order);
  const makeKernel = (n: Node, outName: string, copy: boolean): Kernel => {
    if (!reached.has(n)) throw new Error(`internal: a kernel for ${n.op}, a node that no entry point's roots reach`);
    const k = copy ? "copy" : kindOf(n);
    const reads = new Set<string>();
    const outView = contiguous(outName, n.shape);
    let emit: (w: KernelWriter) => void;
    let simd: Kernel["simd"];
    const host = !copy && f.epilogueOf.get(n);
    if (host) {
      // the kernel op's loops, storing through this node's expression
      const e: Expr = { kind: "op", node: n, args: n.inputs.map((c) => exprOf(c, n.shape)) };
      collectReads(e, reads);
      const ins = host.inputs.map((c) => s.viewOf(c)!);
      for (const v of ins) reads.add(v.base);
      const lw = lowering(host) as Kind<"kernel">;
      emit = (w0) => {
        const w = opWriter(w0);
        const temps = { n: 0 };
        lw.emit(w, outView, ins, { ...host.attrs }, (acc, vars) => {
          const access = new Map<Expr, string>();
          for (const l of leaves(e)) access.set(l, read(l.view, vars));
          return render(e, access, w, temps, acc);
        });
      };
      const plan = simdOf(host, ins);
      // an epilogue in the kernel's lanes uses only the arithmetic they have (src/wasm/matmul.ts `vector`)
      const lanes = plan && laneEpilogue(e, vector);
      // the epilogue in the kernel's lanes, as each block is stored; else, after the SIMD product, in
      // JavaScript: each element of the output read back and its result stored there
      if (plan && plan.kind !== "attention" && lanes && epilogueFits(plan, lanes.leaves)) simd = { plan: { ...plan, epilogue: lanes }, product: mathOf(n, true) };
      else if (plan)
        simd = {
          plan,
          product: mathOf(host, true),
          epilogue: (w) => emitElementwise(w, outView, readAccFrom(e, { kind: "leaf", view: outView, node: host })),
        };
    } else if (k === "elementwise" || k === "copy") {
      const e: Expr = k === "copy" ? rawExpr(n) : { kind: "op", node: n, args: n.inputs.map((c) => exprOf(c, n.shape)) };
      collectReads(e, reads);
      emit = (w) => emitElementwise(w, outView, e);
      // a copy (a transpose written out, a root that is a view) is a map of one leaf
      const plan = g.dtype === "float32" && !readable ? mapPlanOf(n, outView, e) : undefined;
      if (plan) simd = { plan, product: mathOf(n, true) };
    } else if (k === "reduce") {
      const x = n.inputs[0]!;
      const e = exprOf(x, x.shape);
      collectReads(e, reads);
      const lw = lowering(n) as Kind<"reduce">;
      emit = (w) => emitReduce(w, outName, x.shape, n.attrs.axes as number[], e, lw.init, lw.combine);
    } else if (k === "kernel") {
      const ins = n.inputs.map((c) => s.viewOf(c)!);
      for (const v of ins) reads.add(v.base);
      const lw = lowering(n) as Kind<"kernel">;
      emit = (w) => lw.emit(opWriter(w), outView, ins, { ...n.attrs });
      const plan = simdOf(n, ins);
      if (plan) simd = { plan, product: mathOf(n, true) };
    } else throw new Error(`internal: no kernel for ${n.op}`);
    const steps: string[] = [];
    const math = mathOf(n, true, steps);
    const fusedOps: string[] = [];
    const walk = (m: Node): void => {
      if (m !== n && !f.inlined.has(m) && !f.fused.has(m)) return;
      m.inputs.forEach(walk);
      fusedOps.push(m.op);
    };
    if (!copy) walk(n);
    return {
      node: n,
      out: outName,
      comment: [...steps, `${outName} = ${math}`].join(";  "),
      site: g.ctx.sites.get(n),
      backward: false,
      fused: fusedOps.length > 1 ? fusedOps : [],
      reads,
      emit,
      ...(simd && { simd }),
    };
  };
  const cache = new Map<Node, Kernel>();
  return {
    of(n) {
      let k = cache.get(n);
      if (!k) cache.set(n, (k = makeKernel(n, s.viewOf(n)!.base, s.needCopy.has(n))));
      return k;
    },
    copy: (n, into) => makeKernel(n, into, true),
  };
}

/**
 * A kernel's epilogue in SIMD lanes, when every op in it is written in lanes (src/ops: `lanes`) with
 * only the methods that `target` has (a dry run with a recording Lanes tells which ones it calls).
 */
function laneEpilogue(e: Expr, target: Lanes<unknown>): LaneEpilogue | undefined {
  const lanesOf = (x: Node) => (lowering(x) as Kind<"elementwise">).lanes;
  const written = (x: Expr): boolean => x.kind !== "op" || (lanesOf(x.node) !== undefined && x.args.every(written));
  if (!written(e)) return undefined;
  const ls = leaves(e);
  const epilogue: LaneEpilogue = {
    leaves: ls.map((l) => l.view),
    build<V>(L: Lanes<V>, acc: V, leaf: (index: number) => V): V {
      const go = (x: Expr): V =>
        x.kind === "acc" ? acc : x.kind === "lit" ? L.num(Number(x.text)) : x.kind === "leaf" ? leaf(ls.indexOf(x)) : lanesOf(x.node)!(L, x.args.map(go), { ...x.node.attrs });
      return go(e);
    },
  };
  const used = new Set<string>();
  const record = (m: string) => () => (used.add(m), 0);
  epilogue.build(Object.fromEntries(LANE_METHODS.map((m) => [m, record(m)])) as unknown as Lanes<number>, 0, () => 0);
  return [...used].every((m) => typeof (target as unknown as Record<string, unknown>)[m] === "function") ? epilogue : undefined;
}

/** Every method of `Lanes`, the optional ones too, for the dry run above (a record, so that a method added to `Lanes` must be added here). */
const LANE_METHODS = Object.keys({ add: 1, sub: 1, mul: 1, div: 1, neg: 1, num: 1, ifGreater: 1, exp: 1, erf: 1, max: 1, min: 1, abs: 1, sqrt: 1 } satisfies Record<keyof Lanes<unknown>, 1>);

/** An elementwise kernel as a WebAssembly map (src/wasm/map.ts): float32 operands, every op in the map's lanes, runs that suit four lanes. */
function mapPlanOf(n: Node, out: View, e: Expr) {
  const ls = leaves(e);
  if (n.dtype !== "float32" || ls.some((l) => l.node.dtype !== "float32")) return undefined;
  const lanes = laneEpilogue(e, mapLanes(new Func("probe")));
  if (!lanes) return undefined;
  const { extents, strides } = mergeAxes([...out.shape], [out.strides as number[], ...ls.map((l) => l.view.strides as number[])], out.shape.map(() => 0));
  return planMap(extents, strides.slice(1), lanes);
}
