/**
 * Algebraic simplification: one row per law, applied bottom-up until nothing changes.
 * Every rule preserves shapes; a rule that would change a node's shape does not fire.
 */
import { makeBuilder } from "../dsl/builder.js";
import { mapGraph, type Ctx, type Graph, type Node } from "../ir/graph.js";
import { broadcastShapes, sameShape, type Site } from "../ir/shape.js";
import { primitive } from "../ops/index.js";

const scalarConst = (n: Node, v?: number): boolean =>
  n.op === "constant" && (n.attrs.values as number[]).length === 1 && (v === undefined || (n.attrs.values as number[])[0] === v);
const isSwapLast2 = (perm: number[]) => perm.length >= 2 && perm.every((p, i) => (i < perm.length - 2 ? p === i : p === perm.length * 2 - 3 - i));
const isIdentityPerm = (perm: number[]) => perm.every((p, i) => p === i);
const elementwise = (n: Node) => n.inputs.length > 0 && primitive(n.op).lower.kind === "elementwise";

/** A bound on |n| for every input value, when n is built from relu' (0 or 1) and constants; else ∞. */
const bound = (n: Node, depth = 0): number => {
  if (depth > 8) return Infinity;
  if (n.op === "heaviside") return 1;
  if (n.op === "constant") return (n.attrs.values as number[]).reduce((m, v) => (Math.abs(v) > m || Number.isNaN(v) ? Math.abs(v) : m), 0);
  const b = n.inputs.map((i) => bound(i, depth + 1));
  if (n.op === "neg") return b[0]!;
  if (n.op === "add" || n.op === "sub") return b[0]! + b[1]!;
  if (n.op === "mul") return b[0]! * b[1]!;
  return Infinity;
};

/** z[idx], or f(…z'[idx]) down a chain of unary elementwise ops z = f(…z'), when such a gather already exists; else undefined. */
const gatherAnyway = (c: Ctx, z: Node, idx: Node, depth = 0): Node | undefined => {
  if (depth > 8) return undefined;
  const found = c.find("maxPool2dGather", [z, idx]);
  if (found) return found;
  if (!elementwise(z) || z.inputs.length !== 1) return undefined;
  const inner = gatherAnyway(c, z.inputs[0]!, idx, depth + 1);
  return inner && c.make(z.op, [inner], { ...z.attrs });
};

/** A rewrite that fired: its law and the model-file line of the node it rewrote. */
export interface Rewrite {
  law: string;
  site: Site | undefined;
}

interface Rule {
  law: string;
  apply(n: Node, ctx: Ctx): Node | undefined;
}

const B = (ctx: Ctx) => makeBuilder(ctx);

export const rules: Rule[] = [
  // reshape(x, shape(x)) → x
  { law: "reshape(x, shape(x)) → x", apply: (n) => (n.op === "reshape" && sameShape(n.shape, n.inputs[0]!.shape) ? n.inputs[0] : undefined) },
  // reshape(reshape(x)) → reshape(x)
  { law: "reshape(reshape(x)) → reshape(x)", apply: (n, c) => (n.op === "reshape" && n.inputs[0]!.op === "reshape" ? B(c).reshape(n.inputs[0]!.inputs[0]!, [...n.shape]) : undefined) },
  // transpose(x, id) → x
  { law: "transpose(x, identity) → x", apply: (n) => (n.op === "transpose" && isIdentityPerm(n.attrs.perm as number[]) ? n.inputs[0] : undefined) },
  // transpose(transpose(x, p), q) → transpose(x, p∘q)
  {
    law: "transpose(transpose(x, p), q) → transpose(x, p∘q)",
    apply: (n, c) => {
      if (n.op !== "transpose" || n.inputs[0]!.op !== "transpose") return undefined;
      const p = n.inputs[0]!.attrs.perm as number[];
      const q = n.attrs.perm as number[];
      return B(c).transpose(n.inputs[0]!.inputs[0]!, q.map((i) => p[i]!));
    },
  },
  // (A·B)ᵀ → Bᵀ·Aᵀ: the transpose becomes an index map inside the matmul, never a copy
  {
    law: "(A·B)ᵀ → Bᵀ·Aᵀ",
    apply: (n, c) => {
      if (n.op !== "transpose" || n.inputs[0]!.op !== "matmul" || !isSwapLast2(n.attrs.perm as number[])) return undefined;
      const [a, b] = n.inputs[0]!.inputs as [Node, Node];
      if (a.shape.length < 2 || b.shape.length < 2 || a.shape.length !== b.shape.length) return undefined;
      const g = B(c);
      const sw = (t: Node) => g.transpose(t, t.shape.map((_, i) => (i < t.shape.length - 2 ? i : t.shape.length * 2 - 3 - i)));
      return g.matmul(sw(b), sw(a));
    },
  },
  // broadcast(x, shape(x)) → x
  { law: "broadcast(x, shape(x)) → x", apply: (n) => (n.op === "broadcastTo" && sameShape(n.shape, n.inputs[0]!.shape) ? n.inputs[0] : undefined) },
  // f(x, broadcast(y)) → f(x, y) when f's own broadcasting gives the same shape
  {
    law: "f(x, broadcast(y)) → f(x, y)",
    apply: (n, c) => {
      if (!elementwise(n) || n.inputs.length !== 2 || !n.inputs.some((i) => i.op === "broadcastTo")) return undefined;
      const ins = n.inputs.map((i) => (i.op === "broadcastTo" ? i.inputs[0]! : i));
      try {
        if (!sameShape(broadcastShapes(n.op, ins[0]!.shape, ins[1]!.shape), n.shape)) return undefined;
      } catch {
        return undefined;
      }
      return c.make(n.op, ins, { ...n.attrs });
    },
  },
  // f(broadcast(x)) → broadcast(f(x)): compute once, then broadcast
  {
    law: "f(broadcast(x)) → broadcast(f(x))",
    apply: (n, c) => (elementwise(n) && n.inputs.length === 1 && n.inputs[0]!.op === "broadcastTo" ? B(c).broadcastTo(c.make(n.op, [n.inputs[0]!.inputs[0]!], { ...n.attrs }), [...n.shape]) : undefined),
  },
  // a reduction over axes of size 1 only moves no data: Σ₍size-1 axes₎ x → reshape(x)
  {
    law: "reduce over size-1 axes → reshape(x)",
    apply: (n, c) =>
      primitive(n.op).lower.kind === "reduce" && (n.attrs.axes as number[]).every((a) => n.inputs[0]!.shape[a] === 1) ? B(c).reshape(n.inputs[0]!, [...n.shape]) : undefined,
  },
  // relu'(z) → relu'(relu(z)) when relu(z) is computed anyway: then z has one reader and
  // z = x·Wᵀ + b, a = relu(z) become one kernel (the mask reads a instead of z)
  {
    law: "relu'(z) → relu'(relu(z))",
    apply: (n, c) => {
      if (n.op !== "heaviside" || n.inputs[0]!.op === "relu") return undefined;
      return c.find("relu", [n.inputs[0]!]) ? c.make("heaviside", [c.make("relu", [n.inputs[0]!])]) : undefined;
    },
  },
  // x · 1 → x, 1 · x → x
  {
    law: "x · 1 → x",
    apply: (n) => {
      if (n.op !== "mul") return undefined;
      const [a, b] = n.inputs as [Node, Node];
      if (scalarConst(b, 1) && sameShape(a.shape, n.shape)) return a;
      if (scalarConst(a, 1) && sameShape(b.shape, n.shape)) return b;
      return undefined;
    },
  },
  // max pooling's backward, scatter then mask, becomes mask then scatter: dX = maxpool_transpose(dY at
  // idx) ⊙ m → maxpool_transpose((dY ⊙ m[idx]) at idx), each window's gradient times m at the cell it
  // lands on (the ⊙ runs on the pooled tensor, 4× smaller for 2×2 windows). m must be bounded (its
  // every value finite: relu' and the like), else a NaN at a cell no window picked, 0·NaN, would vanish
  {
    law: "maxpool_transpose(h at idx) ⊙ m → maxpool_transpose((h ⊙ m[idx]) at idx)",
    apply: (n, c) => {
      if (n.op !== "mul") return undefined;
      const k = n.inputs.findIndex((i) => i.op === "maxPool2dGrad");
      if (k < 0) return undefined;
      const [s, m] = [n.inputs[k]!, n.inputs[1 - k]!];
      if (!sameShape(s.shape, n.shape) || !sameShape(m.shape, n.shape) || !(bound(m) < Number.MAX_VALUE)) return undefined;
      const [h, idx] = s.inputs as [Node, Node];
      return c.make("maxPool2dGrad", [c.make("mul", [h, c.make("maxPool2dGather", [m, idx])]), idx], { ...s.attrs });
    },
  },
  // f(z)[idx] → f(z[idx]) for a unary elementwise f, when z[idx] is computed anyway (the forward's
  // pooled value: relu'(p1_relu)[idx] is relu'(p1)); never the forward's own relu(z)[idx]
  {
    law: "f(z)[idx] → f(z[idx])",
    apply: (n, c) => {
      if (n.op !== "maxPool2dGather" || !elementwise(n.inputs[0]!) || n.inputs[0]!.inputs.length !== 1) return undefined;
      const inner = gatherAnyway(c, n.inputs[0]!.inputs[0]!, n.inputs[1]!);
      return inner && c.make(n.inputs[0]!.op, [inner], { ...n.inputs[0]!.attrs });
    },
  },
  // Σ over both plane axes (and any others) of a max-pool scatter → Σ of what it scatters: the
  // scatter moves each value within its plane, adding it to one cell
  {
    law: "Σ[plane axes…](maxpool_transpose(h at idx)) → Σ[plane axes…](h)",
    apply: (n, c) => {
      if (n.op !== "sum" || n.inputs[0]!.op !== "maxPool2dGrad") return undefined;
      const [s, axes, r] = [n.inputs[0]!, n.attrs.axes as number[], n.inputs[0]!.shape.length];
      return axes.includes(r - 2) && axes.includes(r - 1) ? c.make("sum", [s.inputs[0]!], { ...n.attrs }) : undefined;
    },
  },
  // x + 0 → x, 0 + x → x, x − 0 → x
  {
    law: "x + 0 → x",
    apply: (n) => {
      if (n.op !== "add" && n.op !== "sub") return undefined;
      const [a, b] = n.inputs as [Node, Node];
      if (scalarConst(b, 0) && sameShape(a.shape, n.shape)) return a;
      if (n.op === "add" && scalarConst(a, 0) && sameShape(b.shape, n.shape)) return b;
      return undefined;
    },
  },
  // −(−x) → x
  { law: "−(−x) → x", apply: (n) => (n.op === "neg" && n.inputs[0]!.op === "neg" ? n.inputs[0]!.inputs[0] : undefined) },
  // x · (−1) → −x
  {
    law: "x · (−1) → −x",
    apply: (n, c) => {
      if (n.op !== "mul") return undefined;
      const [a, b] = n.inputs as [Node, Node];
      if (scalarConst(b, -1) && sameShape(a.shape, n.shape)) return B(c).neg(a);
      if (scalarConst(a, -1) && sameShape(b.shape, n.shape)) return B(c).neg(b);
      return undefined;
    },
  },
  // k·x + (−k)·y → k·(x − y): the gradient of a mean loss reads (ŷ − y)/n
  {
    law: "k·x + (−k)·y → k·(x − y)",
    apply: (n, c) => {
      if (n.op !== "add") return undefined;
      const split = (m: Node): [Node, number] | undefined => {
        if (m.op !== "mul") return undefined;
        const [a, b] = m.inputs as [Node, Node];
        if (scalarConst(b) && sameShape(a.shape, m.shape)) return [a, (b.attrs.values as number[])[0]!];
        if (scalarConst(a) && sameShape(b.shape, m.shape)) return [b, (a.attrs.values as number[])[0]!];
        return undefined;
      };
      const l = split(n.inputs[0]!);
      const r = split(n.inputs[1]!);
      if (!l || !r || l[1] !== -r[1] || !sameShape(l[0].shape, r[0].shape)) return undefined;
      return l[1] > 0 ? B(c).mul(B(c).sub(l[0], r[0]), l[1]) : B(c).mul(B(c).sub(r[0], l[0]), r[1]);
    },
  },
  // x + (−y) → x − y
  { law: "x + (−y) → x − y", apply: (n, c) => (n.op === "add" && n.inputs[1]!.op === "neg" ? B(c).sub(n.inputs[0]!, n.inputs[1]!.inputs[0]!) : undefined) },
  // xᵖ with p = 1 → x
  { law: "x¹ → x", apply: (n) => (n.op === "pow" && n.attrs.exponent === 1 ? n.inputs[0] : undefined) },
  // x² (pow) → square(x)
  { law: "x^2 → square(x)", apply: (n, c) => (n.op === "pow" && n.attrs.exponent === 2 ? B(c).square(n.inputs[0]!) : undefined) },
];

/**
 * Stabilisations: rewrites to formulas that stay finite where the written one overflows or
 * rounds to log(0). They run before differentiation, so that the gradient is derived from the
 * stable formula too.
 */
export const stabilisations: Rule[] = [
  // stabilisation: log σ(x) → −softplus(−x); log σ(x) is −∞ in floating point once σ(x) rounds to 0
  { law: "log σ(x) → −softplus(−x)  (stabilised)", apply: (n, c) => (n.op === "log" && n.inputs[0]!.op === "sigmoid" ? B(c).neg(B(c).softplus(B(c).neg(n.inputs[0]!.inputs[0]!))) : undefined) },
  // stabilisation: log(1 − σ(x)) → −softplus(x); 1 − σ(x) rounds to 0 for large x
  {
    law: "log(1 − σ(x)) → −softplus(x)  (stabilised)",
    apply: (n, c) => {
      if (n.op !== "log" || n.inputs[0]!.op !== "sub") return undefined;
      const [one, s] = n.inputs[0]!.inputs as [Node, Node];
      return scalarConst(one, 1) && s.op === "sigmoid" && sameShape(s.shape, n.shape) ? B(c).neg(B(c).softplus(s.inputs[0]!)) : undefined;
    },
  },
];

/**
 * Rewrites that are true only once no differentiation is left to run: the pipeline applies them
 * after the last one (a vjp through stop(x) is zero; through x it is not).
 */
export const afterDifferentiation: Rule[] = [
  // stop(x) → x: identity forward; its only meaning was for the derivatives, now derived
  { law: "stop(x) → x", apply: (n) => (n.op === "stopGradient" ? n.inputs[0] : undefined) },
  // customVjp(x…, f) → f: the user's rule has been used by every differentiation; the value is f's
  { law: "custom(x…, f) → f", apply: (n) => (n.op === "customVjp" ? n.inputs[n.inputs.length - 1] : undefined) },
];

/** Apply the rules bottom-up; each rewrite is recorded (law and node) for `explain`. */
export function simplify(g: Graph, log?: Rewrite[], table: Rule[] = rules): Graph {
  let cur = g;
  for (let round = 0; round < 8; round++) {
    let changed = false;
    cur = mapGraph(cur, (n, ins) => {
      let m = ins.every((c, i) => c === n.inputs[i]) ? n : g.ctx.make(n.op, ins, { ...n.attrs });
      for (let guard = 0; guard < 16; guard++) {
        let fired = false;
        for (const r of table) {
          const out = r.apply(m, g.ctx);
          if (out && out !== m) {
            log?.push({ law: r.law, site: g.ctx.sites.get(n) });
            m = out;
            fired = changed = true;
            break;
          }
        }
        if (!fired) break;
      }
      return m;
    });
    if (!changed) break;
  }
  return cur;
}
