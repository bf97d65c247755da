/**
 * Stage 2, buffers, views and dtypes: every value that is not folded into a loop gets a named
 * buffer of its dtype (params, gradients, optimizer state, constants, temporaries); every
 * movement op becomes a view (an index map over its operand's buffer), or a copy where no index
 * map can express it. Offsets come later, from the memory plan.
 */
import type { DType, Graph, Node } from "../ir/graph.js";
import { size } from "../ir/shape.js";
import { Namer } from "./namer.js";
import { contiguous, type View } from "./view.js";
import { kindOf, lowering, sourceOf, type Fusion } from "./fuse.js";
import type { Buffer, OptimizerState, Role } from "./program.js";

export interface Storage {
  namer: Namer;
  buffers: Buffer[];
  /** Node → the identifier it is known by in the generated code (buffers and input locals). */
  names: Map<Node, string>;
  /** Node → its buffer. */
  bufOf: Map<Node, string>;
  inputLocals: Map<string, string>;
  params: Map<string, string>;
  /** Buffer (state that is not trained) name → its buffer. */
  buffersOf: Map<string, string>;
  grads: Map<string, string>;
  optimizer: { state: OptimizerState; roles: string[]; step: string };
  /** Gradients that no kernel writes straight into their buffer (a view or a source): copied there. */
  gradRootCopy: Set<Node>;
  /** Nodes read through a buffer of their own because no index map over their operand expresses them. */
  needCopy: Set<Node>;
  /** How a node is read: a view of a buffer, or null for a literal or a value folded into its reader's loop. */
  viewOf(n: Node): View | null;
  /** A view node's own index map over its operand (null: over a literal, or inexpressible). */
  rawView(n: Node): View | null;
  /** A new buffer (for the later stages: copies of outputs and inputs). */
  add(preferred: string, n: number, role: Role, dtype?: DType): string;
}

export const isScalarConst = (n: Node) => sourceOf(n) === "constant" && size(n.shape) === 1;

export function allocate(g: Graph, f: Fusion, optimizerRoles: string[]): Storage {
  const ctx = g.ctx;
  const namer = new Namer();
  const names = new Map<Node, string>();
  const buffers: Buffer[] = [];
  const bufOf = new Map<Node, string>();
  const addBuf = (name: string, n: number, role: Role, values?: number[], dtype: DType = g.dtype) => {
    buffers.push({ name, size: n, dtype, offset: -1, role, ...(values && { values }) });
    return name;
  };
  const add = (preferred: string, n: number, role: Role, dtype: DType = g.dtype) => addBuf(namer.claim(preferred), n, role, undefined, dtype);

  // a value is named after the model file's variable; a gradient after the value it differentiates (dz1)
  const resultName = new Map<string, string>();
  // the variable a statement names (`const h2 = g.tanh(g.linear(h1, W2, b2))`): what the unnamed
  // values made on its line are named after (h2_add, and its gradient dh2_add, not dadd16)
  const lineName = new Map<number, string | null>();
  for (const [n, s] of ctx.results) {
    const nm = ctx.names.get(n);
    if (!nm) continue;
    resultName.set(`${s.line}:${s.col}`, nm);
    // params and inputs declared inline on the line do not count; two computed names make it ambiguous
    if (n.inputs.length) lineName.set(s.line, lineName.has(s.line) && lineName.get(s.line) !== nm ? null : nm);
  }
  const preferred = (n: Node): string => {
    const nm = ctx.names.get(n);
    if (nm) return nm;
    const s = ctx.sites.get(n);
    const owner = s && (resultName.get(`${s.line}:${s.col}`) ?? lineName.get(s.line));
    const role = ctx.roles.get(n);
    if (role) return owner ? `${owner}_${role}` : `${role}${s ? s.line : ""}`;
    const grad = ctx.gradOf.get(n);
    if (grad && grad !== n) return `d${preferred(grad)}`;
    // a gradient read only through a reshape or broadcast is named after that view's forward value
    const us = f.uses.get(n) ?? [];
    const view = us.length === 1 && kindOf(us[0]!) === "view" ? ctx.gradOf.get(us[0]!) : undefined;
    if (view) return `d${preferred(view)}`;
    // a value copied so that a named view can read it (a reshape of a transposed window) takes the view's name
    const viewName = us.length === 1 && kindOf(us[0]!) === "view" ? ctx.names.get(us[0]!) : undefined;
    if (viewName) return viewName;
    return owner ? `${owner}_${n.op}` : `${n.op}${s ? s.line : ""}`;
  };

  const params = new Map<string, string>();
  for (const [pn, p] of g.params) {
    const nm = namer.claim(pn);
    params.set(pn, addBuf(nm, size(p.shape), "param"));
    bufOf.set(p, nm);
    names.set(p, nm);
  }
  const buffersOf = new Map<string, string>();
  for (const [bn, node] of g.buffers) {
    const nm = namer.claim(bn);
    buffersOf.set(bn, addBuf(nm, size(node.shape), "buffer"));
    bufOf.set(node, nm);
    names.set(node, nm);
  }
  const inputLocals = new Map<string, string>();
  for (const [iname, node] of g.inputs) {
    const nm = namer.claim(iname);
    inputLocals.set(iname, nm);
    names.set(node, nm);
  }
  const grads = new Map<string, string>();
  const gradRootCopy = new Set<Node>();
  for (const [pn, d] of f.entries.grads) {
    const nm = namer.claim(`d${pn}`);
    grads.set(pn, addBuf(nm, size(d.shape), "grad"));
    // the kernel that computes a gradient writes straight into the gradient buffer
    if (!bufOf.has(d) && !f.inlined.has(d) && ["elementwise", "reduce", "kernel"].includes(kindOf(d))) {
      bufOf.set(d, nm);
      names.set(d, nm);
    } else gradRootCopy.add(d);
  }
  // per param, the optimizer's state buffers (torch's names), then the step count t
  const state: OptimizerState = new Map();
  for (const [pn, p] of g.params) state.set(pn, Object.fromEntries(optimizerRoles.map((r) => [r, add(`${r}_${pn}`, size(p.shape), "optimizer")])));
  const optimizer = { state, roles: optimizerRoles, step: add("optimizer_step", 1, "optimizer") };

  const needCopy = new Set<Node>();
  const viewCache = new Map<Node, View | null>();
  const viewOf = (n: Node): View | null => {
    if (viewCache.has(n)) return viewCache.get(n)!;
    let v: View | null;
    const src = sourceOf(n);
    if (src === "input") v = contiguous(inputLocals.get(n.attrs.name as string)!, n.shape);
    else if (src === "param" || src === "buffer") v = contiguous(bufOf.get(n)!, n.shape);
    else if (src === "constant") v = isScalarConst(n) && !bufOf.has(n) ? null : contiguous(constBuf(n), n.shape);
    else if (kindOf(n) === "view" && !needCopy.has(n)) v = rawView(n);
    else if (f.inlined.has(n)) v = null;
    else v = contiguous(bufFor(n), n.shape);
    viewCache.set(n, v);
    return v;
  };
  const rawView = (n: Node): View | null => {
    const src = viewOf(n.inputs[0]!);
    const lw = lowering(n);
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
      nm = add(preferred(n), size(n.shape), "temp", n.dtype);
      bufOf.set(n, nm);
      names.set(n, nm);
    }
    return nm;
  };
  // operands that a kernel or a view cannot read as they are get a buffer
  for (const n of f.order) {
    const k = kindOf(n);
    if (k === "view" && viewOf(n.inputs[0]!) !== null && rawView(n) === null) {
      needCopy.add(n.inputs[0]!);
      viewCache.clear();
    }
    if (k === "kernel")
      for (const c of n.inputs) {
        if (isScalarConst(c)) constBuf(c);
        if (kindOf(c) === "view" && viewOf(c) === null) needCopy.add(c);
        viewCache.clear();
      }
  }
  return { namer, buffers, names, bufOf, inputLocals, params, buffersOf, grads, optimizer, gradRootCopy, needCopy, viewOf, rawView, add };
}
