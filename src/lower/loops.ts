/**
 * Loops: how a kernel's value, an expression over views, is written as JavaScript. Elementwise
 * kernels and reductions get loop nests with literal bounds, adjacent axes merged where every
 * view walks them as one; a kernel op's epilogue is rendered at its accumulator.
 */
import { primitive } from "../ops/index.js";
import { rowMajorStrides, type Shape } from "../ir/shape.js";
import type { Node } from "../ir/graph.js";
import { at, read, type KernelWriter, type View } from "./view.js";

/** A kernel's value: a literal, an element read through a view, a folded op, or (in a kernel's epilogue) the accumulator. */
export type Expr = { kind: "lit"; text: string } | { kind: "leaf"; view: View; node: Node } | { kind: "op"; node: Node; args: Expr[] } | { kind: "acc" };
export type Leaf = Extract<Expr, { kind: "leaf" }>;

/** `v` broadcast to shape `S` (stride 0 along new and size-1 axes). */
export function broadcastView(v: View, S: Shape): View {
  if (v.shape.length === S.length && v.shape.every((d, i) => d === S[i])) return v;
  const lead = S.length - v.shape.length;
  return { ...v, shape: [...S], strides: S.map((d, i) => (i < lead || v.shape[i - lead] !== d ? 0 : v.strides[i - lead]!)) };
}

/** `e` with the kernel's accumulator replaced by `stored`, a read of the product where it was stored. */
export function readAccFrom(e: Expr, stored: Leaf): Expr {
  if (e.kind === "acc") return stored;
  return e.kind === "op" ? { ...e, args: e.args.map((a) => readAccFrom(a, stored)) } : e;
}

export function collectReads(e: Expr, reads: Set<string>): void {
  if (e.kind === "leaf") reads.add(e.view.base);
  else if (e.kind === "op") for (const a of e.args) collectReads(a, reads);
}

export function leaves(e: Expr, out: Leaf[] = []): Leaf[] {
  if (e.kind === "leaf") out.push(e);
  else if (e.kind === "op") for (const a of e.args) leaves(a, out);
  return out;
}

/** Merge adjacent loop axes that every view walks as one (row-major continuation); size-1 axes are dropped. */
export function mergeAxes(extents: number[], viewsStrides: number[][], groupOf: number[]): { extents: number[]; strides: number[][] } {
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
export function render(e: Expr, access: Map<Expr, string>, w: KernelWriter, temps: { n: number }, acc = "acc"): string {
  if (e.kind === "acc") return acc;
  if (e.kind === "lit") return e.text.startsWith("-") ? `(${e.text})` : e.text;
  if (e.kind === "leaf") return access.get(e)!;
  const def = primitive(e.node.op);
  const lw = def.lower as { kind: "elementwise"; expr(a: string[], at: Record<string, unknown>): string };
  const sentinels = e.args.map((_, i) => `\u0000${i}\u0000`);
  const template = lw.expr(sentinels, { ...e.node.attrs });
  const args = e.args.map((a, i) => {
    const s = render(a, access, w, temps, acc);
    const count = template.split(sentinels[i]!).length - 1;
    const simple = /^[A-Za-z_$][\w$]*(\[[^\]]*\]!?)?$/.test(s) || /^\(?-?[\d.e+-]+\)?$/.test(s);
    if (simple) return s;
    if (count <= 1) return `(${s})`;
    const t = w.local(`tmp${temps.n++}`);
    w.line(`const ${t} = ${s};`);
    return t;
  });
  return lw.expr(args, { ...e.node.attrs });
}

export function emitElementwise(w: KernelWriter, out: View, e: Expr): void {
  const ls = leaves(e);
  const S = out.shape;
  const { extents, strides } = mergeAxes([...S], [out.strides as number[], ...ls.map((l) => l.view.strides as number[])], S.map(() => 0));
  const vars = extents.length === 1 ? [w.local("i")] : extents.map((_, i) => w.local(`i${i}`));
  const access = new Map<Expr, string>();
  ls.forEach((l, k) => {
    const v = l.view;
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

export function emitReduce(w: KernelWriter, outName: string, S: Shape, axes: number[], e: Expr, init: string, combine: (a: string, v: string) => string): void {
  const kept = S.map((_, i) => i).filter((i) => !axes.includes(i));
  const order = [...kept, ...axes];
  const outStridesKept = rowMajorStrides(kept.map((i) => S[i]!));
  const outStrides = S.map((_, i) => (kept.includes(i) ? outStridesKept[kept.indexOf(i)]! : 0));
  const ls = leaves(e);
  const perm = (s: readonly number[]) => order.map((i) => s[i]!);
  const { extents, strides } = mergeAxes(
    perm(S),
    [perm(outStrides), ...ls.map((l) => perm(l.view.strides))],
    order.map((i) => (kept.includes(i) ? 0 : 1)),
  );
  // after merging, the first `nk` axes are kept ones: those whose output stride is non-zero
  let nk = 0;
  while (nk < extents.length && strides[0]![nk] !== 0) nk++;
  if (kept.length === 0) nk = 0;
  const vars = extents.map((_, i) => w.local(`i${i}`));
  const acc = w.local("acc");
  const access = new Map<Expr, string>();
  ls.forEach((l, k) => access.set(l, read({ ...l.view, shape: extents, strides: strides[k + 1]! }, vars)));
  const outAt = at({ base: outName, shape: extents, strides: strides[0]!, offset: 0 }, vars);
  const inner = (d: number): void => {
    if (d < extents.length) return w.loop(vars[d]!, extents[d]!, () => inner(d + 1));
    const temps = { n: 0 };
    const v = render(e, access, w, temps);
    w.line(`${acc} = ${combine(acc, `(${v})`)};`);
  };
  const outer = (d: number): void => {
    if (d < nk) return w.loop(vars[d]!, extents[d]!, () => outer(d + 1));
    w.line(`let ${acc} = ${init};`);
    inner(nk);
    w.line(`${outAt} = ${acc};`);
  };
  outer(0);
}
