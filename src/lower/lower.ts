/**
 * Lowering: decide which nodes get a buffer and which are folded into their consumer's loop,
 * order the kernels of `forward` and of `lossAndGrad`, plan one arena by buffer lifetimes, and
 * turn each kernel into loops with literal bounds.
 */
import { topo, type Graph, type Node } from "../ir/graph.js";
import { rowMajorStrides, size, type Shape, type Site } from "../ir/shape.js";
import { primitive } from "../ops/index.js";
import { Namer } from "../emit/namer.js";
import { at, contiguous, read, type Epilogue, type KernelWriter, type View } from "./view.js";
import { matmulDims } from "../ops/matmul.js";
import { promote } from "./matmulKernel.js";
import { bufferReads, epilogueFits, planSimd, type LaneEpilogue, type SimdMatmul } from "../wasm/matmul.js";
import type { Lanes, Lowering } from "../ops/types.js";

/** `input`: a copy of an input, in the arena where the WebAssembly kernels can read it. */
export type Role = "param" | "grad" | "state" | "buffer" | "constant" | "input" | "temp";

export interface Buffer {
  name: string;
  size: number;
  offset: number;
  role: Role;
  /** Initial values (constants). */
  values?: number[];
}

export interface Kernel {
  node: Node;
  /** The buffer it writes. */
  out: string;
  /** `name = math` for the comment. */
  comment: string;
  site: Site | undefined;
  backward: boolean;
  /** The ops computed in this one loop nest, when more than its own (fusion, for `explain`). */
  fused: string[];
  /** Buffers and inputs it reads (for lifetimes). */
  reads: Set<string>;
  emit(w: KernelWriter): void;
  /**
   * float32 matmuls whose layout suits four lanes: the product as a WebAssembly SIMD function
   * (src/wasm/matmul.ts). The fused elementwise part runs in the function's lanes as it stores
   * (`plan.epilogue`) when its ops are written in lanes; otherwise the function stores A·B and
   * `epilogue` applies the rest in place, in JavaScript. `emit` stays the fallback where
   * WebAssembly SIMD is missing.
   */
  simd?: { plan: SimdMatmul; product: string; epilogue?: (w: KernelWriter) => void };
}

export interface Program {
  graph: Graph;
  buffers: Buffer[];
  arenaSize: number;
  forward: Kernel[];
  train: Kernel[];
  /** Input name → local identifier, for the inputs each entry point reads. */
  inputLocals: Map<string, string>;
  /** Input local → its arena copy, for the inputs a SIMD kernel reads. */
  inputCopies: Map<string, string>;
  forwardInputs: string[];
  trainInputs: string[];
  outputs: Map<string, string>;
  loss: string | undefined;
  params: Map<string, string>;
  grads: Map<string, string>;
  names: Map<Node, string>;
  namer: Namer;
}

/** A kernel's value: a literal, an element read through a view, a folded op, or (in a matmul epilogue) the accumulator. */
type Expr = { kind: "lit"; text: string } | { kind: "leaf"; view: View; node: Node } | { kind: "op"; node: Node; args: Expr[] } | { kind: "acc" };

const fmtNum = (v: number): string => (Object.is(v, -0) ? "-0" : String(v));

export function lower(g: Graph): Program {
  const ctx = g.ctx;
  const fwdRoots = [...g.outputs.values()];
  const gradEntries = [...g.grads].reverse();
  const trainRoots = g.loss ? [g.loss, ...gradEntries.map(([, d]) => d)] : [];
  const all = topo([...fwdRoots, ...trainRoots]);
  const lossSet = new Set(g.loss ? topo([g.loss]) : []);

  // --- uses ---------------------------------------------------------------
  const uses = new Map<Node, Node[]>();
  for (const n of all) for (const c of n.inputs) uses.set(c, [...(uses.get(c) ?? []), n]);
  const rootSet = new Set([...fwdRoots, ...trainRoots]);
  const kindOf = (n: Node) => primitive(n.op).lower.kind;

  // --- which nodes are folded into their single consumer's loop --------------
  const inlined = new Set<Node>();
  for (const n of all) {
    if (kindOf(n) !== "elementwise" || rootSet.has(n)) continue;
    const us = uses.get(n) ?? [];
    if (us.length !== 1) continue;
    const u = us[0]!;
    const uk = kindOf(u);
    if ((uk === "elementwise" && u.shape.join() === n.shape.join()) || uk === "reduce") inlined.add(n);
  }
  const isScalarConst = (n: Node) => n.op === "constant" && size(n.shape) === 1;

  // --- matmul epilogues: z = x·Wᵀ + b, a = relu(z) is one kernel when x·Wᵀ has no other reader ---
  /** Materialised elementwise node → the matmul folded into its loops as the accumulator. */
  const epilogueOf = new Map<Node, Node>();
  const fused = new Set<Node>();
  for (const n of all) {
    if (n.op !== "matmul" || rootSet.has(n) || n.inputs.some((c) => c.shape.length < 2)) continue;
    const us = uses.get(n) ?? [];
    let u: Node | undefined = us.length === 1 ? us[0] : undefined;
    while (u && kindOf(u) === "elementwise" && u.shape.join() === n.shape.join() && inlined.has(u)) u = uses.get(u)![0];
    if (!u || kindOf(u) !== "elementwise" || inlined.has(u) || u.shape.join() !== n.shape.join() || epilogueOf.has(u)) continue;
    epilogueOf.set(u, n);
    fused.add(n);
  }

  // --- names ----------------------------------------------------------------
  const namer = new Namer();
  const names = new Map<Node, string>();
  const resultName = new Map<string, string>();
  for (const [n, s] of ctx.results) {
    const nm = ctx.names.get(n);
    if (nm) resultName.set(`${s.line}:${s.col}`, nm);
  }
  const preferred = (n: Node): string => {
    const nm = ctx.names.get(n);
    if (nm) return nm;
    const s = ctx.sites.get(n);
    const owner = s && resultName.get(`${s.line}:${s.col}`);
    // a gradient is named after the forward value it differentiates: dz1, dloss_sum
    const grad = ctx.gradOf.get(n);
    if (grad && grad !== n) return `d${preferred(grad)}`;
    // a gradient read only through a reshape or broadcast is named after that view's forward value
    const us = uses.get(n) ?? [];
    const view = us.length === 1 && kindOf(us[0]!) === "view" ? ctx.gradOf.get(us[0]!) : undefined;
    if (view) return `d${preferred(view)}`;
    return owner ? `${owner}_${n.op}` : `${n.op}${s ? s.line : ""}`;
  };

  // --- buffers ----------------------------------------------------------------
  const buffers: Buffer[] = [];
  const bufOf = new Map<Node, string>();
  const params = new Map<string, string>();
  const grads = new Map<string, string>();
  const inputLocals = new Map<string, string>();
  const addBuf = (name: string, n: number, role: Role, values?: number[]) => {
    buffers.push({ name, size: n, offset: -1, role, ...(values && { values }) });
    return name;
  };
  for (const [pn, p] of g.params) {
    const nm = namer.claim(pn);
    params.set(pn, addBuf(nm, size(p.shape), "param"));
    bufOf.set(p, nm);
    names.set(p, nm);
  }
  // buffers (state that is not trained) are read like params; their updates are not lowered yet (compile.ts refuses them)
  for (const [bn, node] of g.buffers) {
    const nm = namer.claim(bn);
    bufOf.set(node, addBuf(nm, size(node.shape), "buffer"));
    names.set(node, nm);
  }
  for (const [iname, node] of g.inputs) {
    const nm = namer.claim(iname);
    inputLocals.set(iname, nm);
    names.set(node, nm);
  }
  const gradRootCopy = new Set<Node>();
  for (const [pn, d] of g.grads) {
    const nm = namer.claim(`d${pn}`);
    grads.set(pn, addBuf(nm, size(d.shape), "grad"));
    // the kernel that computes a gradient writes straight into the gradient buffer
    if (!bufOf.has(d) && !inlined.has(d) && (kindOf(d) === "elementwise" || kindOf(d) === "reduce" || kindOf(d) === "kernel")) {
      bufOf.set(d, nm);
      names.set(d, nm);
    } else gradRootCopy.add(d);
  }

  // --- values: how a node is read ----------------------------------------------
  /** View nodes that no index map can express (a reshape of a transposed view): copied into a buffer. */
  const needCopy = new Set<Node>();
  const viewCache = new Map<Node, View | null>();
  /** The view through which `n` is read, or null when it is a literal or a folded expression. */
  const viewOf = (n: Node): View | null => {
    if (viewCache.has(n)) return viewCache.get(n)!;
    let v: View | null;
    const k = kindOf(n);
    if (n.op === "input") v = contiguous(inputLocals.get(n.attrs.name as string)!, n.shape);
    else if (n.op === "param" || n.op === "buffer") v = contiguous(bufOf.get(n)!, n.shape);
    else if (n.op === "constant") v = isScalarConst(n) && !bufOf.has(n) ? null : contiguous(constBuf(n), n.shape);
    else if (k === "view" && !needCopy.has(n)) v = rawView(n);
    else if (inlined.has(n)) v = null;
    else v = contiguous(bufFor(n), n.shape);
    viewCache.set(n, v);
    return v;
  };
  /** A view node's own index map over its operand (null: a view of a scalar literal, or inexpressible). */
  const rawView = (n: Node): View | null => {
    const src = viewOf(n.inputs[0]!);
    const lw = primitive(n.op).lower;
    return src && lw.kind === "view" ? lw.view(src, { ...n.attrs }, n.shape) : null;
  };
  const constBuf = (n: Node): string => {
    let nm = bufOf.get(n);
    if (!nm) {
      const vals = n.attrs.values as number[];
      nm = addBuf(namer.claim(ctx.names.get(n) ?? "c"), size(n.shape), "constant", vals.length === 1 ? new Array<number>(size(n.shape)).fill(vals[0]!) : vals);
      bufOf.set(n, nm);
      names.set(n, nm);
    }
    return nm;
  };
  const bufFor = (n: Node): string => {
    let nm = bufOf.get(n);
    if (!nm) {
      nm = namer.claim(preferred(n));
      addBuf(nm, size(n.shape), "temp");
      bufOf.set(n, nm);
      names.set(n, nm);
    }
    return nm;
  };
  // Operands that a kernel or a view cannot read as they are: give them a buffer.
  for (const n of all) {
    const k = kindOf(n);
    if (k === "view" && viewOf(n.inputs[0]!) !== null && rawView(n) === null) {
      needCopy.add(n.inputs[0]!);
      viewCache.clear();
    }
    if (k === "kernel")
      for (const c of n.inputs) {
        if (inlined.delete(c)) viewCache.clear();
        if (isScalarConst(c)) constBuf(c);
        if (kindOf(c) === "view" && viewOf(c) === null) needCopy.add(c);
        viewCache.clear();
      }
  }

  /** The expression that computes `n` at loop shape `S` (inlined producers expanded). */
  const exprOf = (n: Node, S: Shape): Expr => {
    if (fused.has(n)) return { kind: "acc" };
    if (isScalarConst(n) && !bufOf.has(n)) return { kind: "lit", text: fmtNum((n.attrs.values as number[])[0]!) };
    if (inlined.has(n)) return { kind: "op", node: n, args: n.inputs.map((c) => exprOf(c, S)) };
    const v = viewOf(n);
    return v === null ? exprOf(n.inputs[0]!, S) : { kind: "leaf", view: broadcastView(v, S), node: n };
  };
  /** `n`'s value read without its own buffer: what a copy kernel copies. */
  const rawExpr = (n: Node): Expr => {
    if (kindOf(n) !== "view") return exprOf(n, n.shape);
    const v = rawView(n);
    return v === null ? exprOf(n.inputs[0]!, n.shape) : { kind: "leaf", view: v, node: n };
  };

  // --- kernels ------------------------------------------------------------------
  /** The math of `n` in the tutorial's notation; folded nodes with a model-file name are listed in `steps` first. */
  const mathOf = (n: Node, top: boolean, steps?: string[]): string => {
    if (!top && names.has(n)) return names.get(n)!;
    if (isScalarConst(n)) return fmtNum((n.attrs.values as number[])[0]!);
    if (kindOf(n) === "view" && viewOf(n) === null) return mathOf(n.inputs[0]!, false, steps);
    const def = primitive(n.op);
    const sentinels = n.inputs.map((_, i) => `\u0000${i}\u0000`);
    const template = def.math(sentinels, { ...n.attrs });
    const args = n.inputs.map((c, i) => {
      let s = mathOf(c, false, steps);
      const own = (inlined.has(c) || fused.has(c)) && ctx.names.get(c);
      if (own && steps && c.inputs.length) {
        steps.push(`${own} = ${s}`);
        s = own;
      }
      // an argument is parenthesised unless it is atomic or the op already encloses it, as in relu(x)
      const enclosed = new RegExp(`[(\\[]${sentinels[i]}[),\\]]`).test(template) || template === sentinels[i];
      return !enclosed && /[ +−⊙/]/.test(s) && !/^\([^()]*\)$/.test(s) ? `(${s})` : s;
    });
    return def.math(args, { ...n.attrs });
  };

  /** The SIMD plan of a float32 matmul of 2-D (or 1-D) operands without batch axes. */
  const simdOf = (av: View, bv: View): SimdMatmul | undefined => {
    if (g.dtype !== "float32") return undefined;
    const { a2, b2, batch, m, k, n } = matmulDims(av.shape, bv.shape);
    if (batch.length) return undefined;
    return planSimd(promote(av, a2, []), promote(bv, b2, []), m, k, n);
  };

  /** A matmul epilogue in SIMD lanes, when every op in it is written in lanes (src/ops: `lanes`). */
  const laneEpilogue = (e: Expr): LaneEpilogue | undefined => {
    const lanesOf = (x: Node) => (primitive(x.op).lower as Extract<Lowering, { kind: "elementwise" }>).lanes;
    const written = (x: Expr): boolean => x.kind !== "op" || (lanesOf(x.node) !== undefined && x.args.every(written));
    if (!written(e)) return undefined;
    const ls = leaves(e);
    return {
      leaves: ls.map((l) => l.view),
      build<V>(L: Lanes<V>, acc: V, leaf: (index: number) => V): V {
        const go = (x: Expr): V =>
          x.kind === "acc" ? acc : x.kind === "lit" ? L.num(Number(x.text)) : x.kind === "leaf" ? leaf(ls.indexOf(x)) : lanesOf(x.node)!(L, x.args.map(go), { ...x.node.attrs });
        return go(e);
      },
    };
  };

  const kernelCache = new Map<Node, Kernel>();
  const makeKernel = (n: Node, outName: string, copy: boolean): Kernel => {
    const k = copy ? "copy" : kindOf(n);
    const reads = new Set<string>();
    const outView = contiguous(outName, n.shape);
    let emit: (w: KernelWriter) => void;
    let simd: Kernel["simd"];
    const mm = !copy && epilogueOf.get(n);
    if (mm) {
      // the matmul's loops, storing through this node's expression
      const e: Expr = { kind: "op", node: n, args: n.inputs.map((c) => exprOf(c, n.shape)) };
      collectReads(e, reads);
      const [av, bv] = mm.inputs.map((c) => viewOf(c)!) as [View, View];
      reads.add(av.base).add(bv.base);
      const lw = primitive("matmul").lower as { kind: "kernel"; emit: (w: KernelWriter, o: View, i: View[], a: Record<string, unknown>, epi: Epilogue) => void };
      emit = (w) => {
        const temps = { n: 0 };
        lw.emit(w, outView, [av, bv], {}, (acc, vars) => {
          const access = new Map<Expr, string>();
          for (const l of leaves(e)) access.set(l, read(l.view, vars));
          return render(e, access, w, temps, acc);
        });
      };
      const plan = simdOf(av, bv);
      const lanes = plan && laneEpilogue(e);
      // the epilogue in the kernel's lanes, as each block is stored; else, after the SIMD product, in
      // JavaScript: each element of the output read back and its result stored there
      if (plan && lanes && epilogueFits(plan, lanes.leaves)) simd = { plan: { ...plan, epilogue: lanes }, product: mathOf(n, true) };
      else if (plan)
        simd = {
          plan,
          product: mathOf(mm, true),
          // an elementwise kernel over the stored product: the accumulator read back from the output
          epilogue: (w) => emitElementwise(w, outView, readAccFrom(e, { kind: "leaf", view: outView, node: mm })),
        };
    } else if (k === "elementwise" || k === "copy") {
      const e: Expr = k === "copy" ? rawExpr(n) : { kind: "op", node: n, args: n.inputs.map((c) => exprOf(c, n.shape)) };
      collectReads(e, reads);
      emit = (w) => emitElementwise(w, outView, e);
    } else if (k === "reduce") {
      const x = n.inputs[0]!;
      const e = exprOf(x, x.shape);
      collectReads(e, reads);
      const lw = primitive(n.op).lower as { kind: "reduce"; init: string; combine(a: string, v: string): string };
      emit = (w) => emitReduce(w, outName, x.shape, n.attrs.axes as number[], e, lw.init, lw.combine);
    } else if (k === "kernel") {
      const ins = n.inputs.map((c) => viewOf(c)!);
      for (const v of ins) reads.add(v.base);
      const lw = primitive(n.op).lower as { kind: "kernel"; emit: (w: KernelWriter, o: View, i: View[], a: Record<string, unknown>) => void };
      emit = (w) => lw.emit(w, outView, ins, { ...n.attrs });
      const plan = n.op === "matmul" ? simdOf(ins[0]!, ins[1]!) : undefined;
      if (plan) simd = { plan, product: mathOf(n, true) };
    } else throw new Error(`internal: no kernel for ${n.op}`);
    const steps: string[] = [];
    const math = mathOf(n, true, steps);
    const fusedOps: string[] = [];
    const walk = (m: Node): void => {
      if (m !== n && !inlined.has(m) && !fused.has(m)) return;
      m.inputs.forEach(walk);
      fusedOps.push(m.op);
    };
    if (!copy) walk(n);
    return { node: n, out: outName, comment: [...steps, `${outName} = ${math}`].join(";  "), site: ctx.sites.get(n), backward: false, fused: fusedOps.length > 1 ? fusedOps : [], reads, emit, ...(simd && { simd }) };
  };
  const kernelFor = (n: Node): Kernel => {
    let k = kernelCache.get(n);
    if (!k) kernelCache.set(n, (k = makeKernel(n, viewOf(n)!.base, needCopy.has(n))));
    return k;
  };

  // Kernels are ordered by a post-order walk from the roots, so every value is computed before its
  // first reader. A root that is a view or a source is copied into its own buffer.
  const buildSchedule = (rootsHere: { node: Node; into?: string }[]): Kernel[] => {
    const out: Kernel[] = [];
    const done = new Set<Node>();
    const ensure = (n: Node): void => {
      if (done.has(n)) return;
      done.add(n);
      for (const c of n.inputs) ensure(c);
      const k = kindOf(n);
      if (fused.has(n)) return;
      if (needCopy.has(n) || k === "elementwise" ? !inlined.has(n) : k === "reduce" || k === "kernel") out.push(kernelFor(n));
    };
    for (const r of rootsHere) {
      ensure(r.node);
      if (r.into) out.push(makeKernel(r.node, r.into, true));
    }
    return out;
  };
  const computedInPlace = (n: Node) => !inlined.has(n) && !needCopy.has(n) && ["elementwise", "reduce", "kernel"].includes(kindOf(n));

  const outputs = new Map<string, string>();
  const fwdList: { node: Node; into?: string }[] = [];
  for (const [oname, n] of g.outputs) {
    if (computedInPlace(n)) {
      outputs.set(oname, viewOf(n)!.base);
      fwdList.push({ node: n });
    } else {
      const nm = addBuf(namer.claim(oname), size(n.shape), "temp");
      outputs.set(oname, nm);
      fwdList.push({ node: n, into: nm });
    }
  }
  let lossName: string | undefined;
  const trainList: { node: Node; into?: string }[] = [];
  if (g.loss) {
    if (computedInPlace(g.loss)) {
      lossName = viewOf(g.loss)!.base;
      trainList.push({ node: g.loss });
    } else {
      lossName = addBuf(namer.claim("loss"), 1, "temp");
      trainList.push({ node: g.loss, into: lossName });
    }
  }
  for (const [pn, d] of gradEntries) trainList.push(gradRootCopy.has(d) ? { node: d, into: grads.get(pn)! } : { node: d });

  const forward = buildSchedule(fwdList);
  const train = buildSchedule(trainList);
  // inputs a SIMD kernel reads are copied into the arena, where WebAssembly can address them
  const inputCopies = new Map<string, string>();
  const simdReads = new Set([...forward, ...train].flatMap((k) => (k.simd ? bufferReads(k.simd.plan) : [])));
  for (const [iname, local] of inputLocals)
    if (simdReads.has(local)) inputCopies.set(local, addBuf(namer.claim(`${local}_copy`), size(g.inputs.get(iname)!.shape), "input"));
  const fwdSet = new Set([...topo(fwdRoots), ...lossSet]);
  for (const k of train) k.backward = !fwdSet.has(k.node);

  // --- memory plan: temps share the arena when their lifetimes do not overlap ---------
  const seq = [...forward, ...train];
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  seq.forEach((k, t) => {
    if (!first.has(k.out)) first.set(k.out, t);
    last.set(k.out, Math.max(last.get(k.out) ?? t, t));
    for (const r of k.reads) last.set(r, Math.max(last.get(r) ?? t, t));
  });
  for (const nm of outputs.values()) if (first.has(nm)) last.set(nm, Math.max(last.get(nm)!, forward.length - 1));
  if (lossName) last.set(lossName, seq.length - 1);
  let top = 0;
  for (const b of buffers) if (b.role !== "temp") {
    b.offset = top;
    top += b.size;
  }
  const temps = buffers.filter((b) => b.role === "temp" && first.has(b.name)).sort((a, b) => first.get(a.name)! - first.get(b.name)! || a.name.localeCompare(b.name));
  const free: { offset: number; size: number }[] = [];
  let end = top;
  const live: Buffer[] = [];
  for (let t = 0; t < seq.length; t++) {
    for (const b of temps.filter((b) => first.get(b.name) === t)) {
      // best fit among freed blocks, else grow the arena
      let best = -1;
      free.forEach((f, i) => {
        if (f.size >= b.size && (best < 0 || f.size < free[best]!.size)) best = i;
      });
      if (best >= 0) {
        const f = free[best]!;
        b.offset = f.offset;
        if (f.size === b.size) free.splice(best, 1);
        else free[best] = { offset: f.offset + b.size, size: f.size - b.size };
      } else {
        b.offset = end;
        end += b.size;
      }
      live.push(b);
    }
    for (let i = live.length - 1; i >= 0; i--) {
      const b = live[i]!;
      if (last.get(b.name)! <= t) {
        live.splice(i, 1);
        free.push({ offset: b.offset, size: b.size });
        free.sort((x, y) => x.offset - y.offset);
        for (let j = free.length - 2; j >= 0; j--)
          if (free[j]!.offset + free[j]!.size === free[j + 1]!.offset) {
            free[j] = { offset: free[j]!.offset, size: free[j]!.size + free[j + 1]!.size };
            free.splice(j + 1, 1);
          }
      }
    }
  }
  const used = buffers.filter((b) => b.offset >= 0);
  const inputsOf = (ks: Kernel[]) => [...inputLocals].filter(([, local]) => ks.some((k) => k.reads.has(local))).map(([n]) => n);
  return {
    graph: g,
    buffers: used,
    arenaSize: Math.max(end, 1),
    forward,
    train,
    inputLocals,
    inputCopies,
    forwardInputs: inputsOf(forward),
    trainInputs: [...g.inputs.keys()],
    outputs,
    loss: lossName,
    params,
    grads,
    names,
    namer,
  };
}

/** `v` broadcast to shape `S` (stride 0 along new and size-1 axes). */
function broadcastView(v: View, S: Shape): View {
  if (v.shape.length === S.length && v.shape.every((d, i) => d === S[i])) return v;
  const lead = S.length - v.shape.length;
  return { ...v, shape: [...S], strides: S.map((d, i) => (i < lead || v.shape[i - lead] !== d ? 0 : v.strides[i - lead]!)) };
}

/** `e` with the matmul's accumulator replaced by `stored`, a read of the product where it was stored. */
function readAccFrom(e: Expr, stored: Extract<Expr, { kind: "leaf" }>): Expr {
  if (e.kind === "acc") return stored;
  return e.kind === "op" ? { ...e, args: e.args.map((a) => readAccFrom(a, stored)) } : e;
}

function collectReads(e: Expr, reads: Set<string>): void {
  if (e.kind === "leaf") reads.add(e.view.base);
  else if (e.kind === "op") for (const a of e.args) collectReads(a, reads);
}

function leaves(e: Expr, out: Extract<Expr, { kind: "leaf" }>[] = []): Extract<Expr, { kind: "leaf" }>[] {
  if (e.kind === "leaf") out.push(e);
  else if (e.kind === "op") for (const a of e.args) leaves(a, out);
  return out;
}

/** Merge adjacent loop axes that every view walks as one (row-major continuation). */
function mergeAxes(extents: number[], viewsStrides: number[][], groupOf: number[]): { extents: number[]; strides: number[][] } {
  const ex = [...extents];
  const st = viewsStrides.map((s) => [...s]);
  const grp = [...groupOf];
  for (let d = ex.length - 2; d >= 0; d--) {
    if (grp[d] !== grp[d + 1]) continue;
    if (st.every((s) => s[d] === s[d + 1]! * ex[d + 1]!)) {
      ex[d] = ex[d]! * ex[d + 1]!;
      for (const s of st) {
        s[d] = s[d + 1]!;
        s.splice(d + 1, 1);
      }
      ex.splice(d + 1, 1);
      grp.splice(d + 1, 1);
    }
  }
  // size-1 axes need no loop
  for (let d = ex.length - 1; d >= 0; d--)
    if (ex[d] === 1) {
      ex.splice(d, 1);
      for (const s of st) s.splice(d, 1);
    }
  return { extents: ex, strides: st };
}

/** Render an expression; arguments that a template uses more than once are bound to a `const` first. */
function render(e: Expr, access: Map<Expr, string>, w: KernelWriter, temps: { n: number }, acc = "acc"): string {
  if (e.kind === "acc") return acc;
  if (e.kind === "lit") return e.text.startsWith("-") ? `(${e.text})` : e.text;
  if (e.kind === "leaf") return access.get(e)!;
  const def = primitive(e.node.op);
  const lw = def.lower as { kind: "elementwise"; expr(a: string[], at: Record<string, unknown>): string };
  const sentinels = e.args.map((_, i) => `\u0000${i}\u0000`);
  const template = lw.expr(sentinels, { ...e.node.attrs });
  const args = e.args.map((a, i) => {
    let s = render(a, access, w, temps, acc);
    const count = template.split(sentinels[i]!).length - 1;
    const simple = /^[A-Za-z_$][\w$]*(\[[^\]]*\]!?)?$/.test(s) || /^\(?-?[\d.e+-]+\)?$/.test(s);
    if (count > 1 && !simple) {
      const t = `tmp${temps.n++}`;
      w.line(`const ${t} = ${s};`);
      s = t;
    }
    return simple || /^tmp\d+$/.test(s) ? s : `(${s})`;
  });
  return lw.expr(args, { ...e.node.attrs });
}

function emitElementwise(w: KernelWriter, out: View, e: Expr): void {
  const ls = leaves(e);
  const S = out.shape;
  const { extents, strides } = mergeAxes([...S], [out.strides as number[], ...ls.map((l) => (l as { view: View }).view.strides as number[])], S.map(() => 0));
  const vars = extents.length === 1 ? ["i"] : extents.map((_, i) => `i${i}`);
  const access = new Map<Expr, string>();
  ls.forEach((l, k) => {
    const v = (l as { view: View }).view;
    access.set(l, read({ ...v, shape: extents, strides: strides[k + 1]! }, vars));
  });
  const outAt = at({ ...out, shape: extents, strides: strides[0]! }, vars);
  const body = () => {
    const temps = { n: 0 };
    const rhs = render(e, access, w, temps);
    w.line(`${outAt} = ${rhs};`);
  };
  const nest = (d: number): void => (d < extents.length ? w.loop(vars[d]!, extents[d]!, () => nest(d + 1)) : body());
  nest(0);
}

function emitReduce(w: KernelWriter, outName: string, S: Shape, axes: number[], e: Expr, init: string, combine: (a: string, v: string) => string): void {
  const kept = S.map((_, i) => i).filter((i) => !axes.includes(i));
  const order = [...kept, ...axes];
  const outStridesKept = rowMajorStrides(kept.map((i) => S[i]!));
  const outStrides = S.map((_, i) => (kept.includes(i) ? outStridesKept[kept.indexOf(i)]! : 0));
  const ls = leaves(e);
  const perm = (s: readonly number[]) => order.map((i) => s[i]!);
  const { extents, strides } = mergeAxes(
    perm(S),
    [perm(outStrides), ...ls.map((l) => perm((l as { view: View }).view.strides))],
    order.map((i) => (kept.includes(i) ? 0 : 1)),
  );
  // after merging, the first `nk` axes are kept ones: those whose output stride is non-zero
  let nk = 0;
  while (nk < extents.length && strides[0]![nk] !== 0) nk++;
  if (kept.length === 0) nk = 0;
  const vars = extents.map((_, i) => `i${i}`);
  const access = new Map<Expr, string>();
  ls.forEach((l, k) => access.set(l, read({ ...(l as { view: View }).view, shape: extents, strides: strides[k + 1]! }, vars)));
  const outAt = at({ base: outName, shape: extents, strides: strides[0]!, offset: 0 }, vars);
  const inner = (d: number): void => {
    if (d < extents.length) return w.loop(vars[d]!, extents[d]!, () => inner(d + 1));
    const temps = { n: 0 };
    const v = render(e, access, w, temps);
    w.line(`acc = ${combine("acc", `(${v})`)};`);
  };
  const outer = (d: number): void => {
    if (d < nk) return w.loop(vars[d]!, extents[d]!, () => outer(d + 1));
    w.line(`let acc = ${init};`);
    inner(nk);
    w.line(`${outAt} = acc;`);
  };
  outer(0);
}
