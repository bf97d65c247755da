import { FlatgradError, fmtShape, type Shape, type Site } from "./shape.js";

/** The element type of a tensor. Integer tensors (labels, token ids) carry no gradient. */
export type DType = "float32" | "float64" | "int32";
/** A model's dtype: the dtype of its params, constants and (by default) its inputs. */
export type FloatDType = "float32" | "float64";
/** Bytes per element of each dtype. */
export const BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4 };
export const isFloat = (d: DType): d is FloatDType => d !== "int32";

/**
 * An immutable, interned IR node. Two nodes with the same op, inputs and attributes are the
 * same object, so structural equality is identity and common-subexpression elimination is free.
 */
export interface Node {
  readonly id: number;
  readonly op: string;
  readonly inputs: readonly Node[];
  readonly attrs: Readonly<Record<string, unknown>>;
  readonly shape: Shape;
  readonly dtype: DType;
  /** Interning key: op, input ids, attributes and dtype (see `nodeKey`). */
  readonly key: string;
}

/** The rules a context builds nodes with: each op's shape and dtype rules (`float` is the model's dtype). */
export interface NodeRules {
  shape(op: string, inputs: readonly Node[], attrs: Record<string, unknown>): number[];
  dtype(op: string, inputs: readonly Node[], attrs: Record<string, unknown>, float: FloatDType): DType;
}

/** The interning key of op(inputs, attrs) with the given dtype: the one place it is spelled. */
export function nodeKey(op: string, inputs: readonly Node[], attrs: Record<string, unknown>, dtype: DType): string {
  return `${op}(${inputs.map((n) => n.id).join(",")})${Object.keys(attrs).length ? JSON.stringify(attrs) : ""}:${dtype}`;
}

/**
 * The node factory of one compilation: interns nodes and records, for each, the model-file
 * call site it came from and a readable name (a variable name from the model file, or
 * `dz1` for the gradient of `z1`). Passes build new nodes in the same context.
 */
export class Ctx {
  private table = new Map<string, Node>();
  private nextId = 0;
  readonly sites = new Map<Node, Site>();
  readonly names = new Map<Node, string>();
  /** The node each outermost builder call returned, with its call site (what a `const x = g.op(...)` names). */
  readonly results = new Map<Node, Site>();
  /** For gradient nodes: the forward node they differentiate (for comments and names). */
  readonly gradOf = new Map<Node, Node>();
  /** The part a node plays in its op's derivation (attention's `P`, `dP`, `dS`): its buffer is named `<variable>_<role>`. */
  readonly roles = new Map<Node, string>();
  /** The call site new nodes are attributed to when the caller gives none. */
  site: Site | undefined;
  /**
   * Derivative order of nodes made by autodiff: 1 + the order of the node whose derivative they
   * compute, and at least the order of the cotangent they carry (1: differentiating the forward,
   * 2: differentiating a first derivative again, as `g.grad` of `g.grad` — all of it, also the parts
   * taken at forward nodes such as its result ∂²y/∂t² — or the backward of a loss that holds a
   * `g.grad`). Forward nodes have none (order 0); `explain` infers a node made by a rewrite from its inputs.
   */
  readonly order = new Map<Node, number>();
  /** The order new nodes are tagged with (0: none), set by `vjp` while it differentiates a node. */
  makingOrder = 0;

  /** `float`: the model's dtype, which params, constants and float inputs take. */
  constructor(
    private rules: NodeRules,
    readonly float: FloatDType = "float32",
  ) {}

  make(op: string, inputs: readonly Node[], attrs: Record<string, unknown> = {}): Node {
    const dtype = this.rule(() => this.rules.dtype(op, inputs, attrs, this.float));
    const key = nodeKey(op, inputs, attrs, dtype);
    const found = this.table.get(key);
    if (found) {
      // a node shared by several orders has the lowest (a forward value used by a derivative stays forward)
      const o = this.order.get(found);
      if (o !== undefined && this.makingOrder < o) this.makingOrder ? this.order.set(found, this.makingOrder) : this.order.delete(found);
      return found;
    }
    const shape = this.rule(() => this.rules.shape(op, inputs, attrs));
    const node: Node = Object.freeze({ id: this.nextId++, op, inputs: Object.freeze([...inputs]), attrs: Object.freeze({ ...attrs }), shape: Object.freeze(shape), dtype, key });
    this.table.set(key, node);
    if (this.site) this.sites.set(node, this.site);
    if (this.makingOrder) this.order.set(node, this.makingOrder);
    return node;
  }

  /** The interned node for op(inputs, attrs) if it exists, without creating it. */
  find(op: string, inputs: readonly Node[], attrs: Record<string, unknown> = {}): Node | undefined {
    return this.table.get(nodeKey(op, inputs, attrs, this.rule(() => this.rules.dtype(op, inputs, attrs, this.float))));
  }

  /** Run a shape or dtype rule; its errors point at the call being built. */
  private rule<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof FlatgradError && !e.site && this.site) e.site = this.site;
      throw e;
    }
  }

  /** Run `fn` with new nodes attributed to `site` (used by autodiff: a gradient comes from its forward node's line). */
  at<T>(site: Site | undefined, fn: () => T): T {
    const prev = this.site;
    this.site = site ?? prev;
    try {
      return fn();
    } finally {
      this.site = prev;
    }
  }

  name(n: Node, name: string): void {
    if (!this.names.has(n)) this.names.set(n, name);
  }
}

/** A compiled model's graph: named sources and roots. Passes map it to a new Graph over the same Ctx. */
export interface Graph {
  readonly ctx: Ctx;
  readonly name: string;
  /** The model's dtype (params, constants, float inputs). */
  readonly dtype: FloatDType;
  readonly inputs: ReadonlyMap<string, Node>;
  readonly params: ReadonlyMap<string, Node>;
  /** State that is not trained (running statistics): `buffer` sources, by name. */
  readonly buffers: ReadonlyMap<string, Node>;
  readonly outputs: ReadonlyMap<string, Node>;
  readonly loss: Node | undefined;
  /** dL/dparam for every param, once autodiff has run. */
  readonly grads: ReadonlyMap<string, Node>;
  /**
   * Buffer name → the node holding its new value: roots that only training runs, written into
   * the buffer in place after the step's kernels (every buffer read in the step sees the old value).
   */
  readonly updates: ReadonlyMap<string, Node>;
}

/** All roots of a graph, in a fixed order: outputs, loss, gradients, buffer updates. */
export function roots(g: Graph): Node[] {
  return [...g.outputs.values(), ...(g.loss ? [g.loss] : []), ...g.grads.values(), ...g.updates.values()];
}

/** Nodes reachable from `rootNodes`, inputs before users, in deterministic order. */
export function topo(rootNodes: readonly Node[]): Node[] {
  const seen = new Set<Node>();
  const order: Node[] = [];
  const stack: [Node, number][] = [];
  for (const r of rootNodes) {
    if (seen.has(r)) continue;
    stack.push([r, 0]);
    seen.add(r);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const [n, i] = top;
      if (i < n.inputs.length) {
        top[1]++;
        const c = n.inputs[i]!;
        if (!seen.has(c)) {
          seen.add(c);
          stack.push([c, 0]);
        }
      } else {
        stack.pop();
        order.push(n);
      }
    }
  }
  return order;
}

/** Map every root through a memoised bottom-up rewrite. */
export function mapGraph(g: Graph, rewrite: (n: Node, inputs: Node[]) => Node): Graph {
  const memo = new Map<Node, Node>();
  for (const n of topo(roots(g))) {
    const ins = n.inputs.map((c) => memo.get(c)!);
    const out = g.ctx.at(g.ctx.sites.get(n), () => rewrite(n, ins));
    if (out !== n) {
      const nm = g.ctx.names.get(n);
      if (nm) g.ctx.name(out, nm);
      const go = g.ctx.gradOf.get(n);
      if (go && !g.ctx.gradOf.has(out)) g.ctx.gradOf.set(out, go);
      const role = g.ctx.roles.get(n);
      if (role && !g.ctx.roles.has(out) && out.inputs.length) g.ctx.roles.set(out, role);
      // a rewrite keeps the order of what it rewrites: a node it made takes n's, a shared one the lower of the two
      const [o, p] = [g.ctx.order.get(n), g.ctx.order.get(out)];
      if (o === undefined) g.ctx.order.delete(out);
      else if (p === undefined ? out.id > n.id : o < p) g.ctx.order.set(out, o);
    }
    memo.set(n, out);
  }
  const m = (map: ReadonlyMap<string, Node>) => new Map([...map].map(([k, v]) => [k, memo.get(v) ?? v]));
  return { ...g, outputs: m(g.outputs), grads: m(g.grads), updates: m(g.updates), loss: g.loss && memo.get(g.loss) };
}

/** Rebuild a node with new inputs (through the interning table). */
export function withInputs(ctx: Ctx, n: Node, inputs: Node[]): Node {
  return inputs.every((c, i) => c === n.inputs[i]) ? n : ctx.make(n.op, inputs, { ...n.attrs });
}

export const describe = (n: Node): string => `${n.op}${fmtShape(n.shape)}`;

/** A node's derivative order (see `Ctx.order`): its own, or the largest of its inputs' (0: forward). */
export function orderOf(ctx: Ctx, n: Node, memo = new Map<Node, number>()): number {
  const own = ctx.order.get(n) ?? memo.get(n);
  if (own !== undefined) return own;
  let o = 0;
  for (const m of topo([n])) {
    const v = ctx.order.get(m) ?? memo.get(m) ?? Math.max(0, ...m.inputs.map((c) => ctx.order.get(c) ?? memo.get(c) ?? 0));
    memo.set(m, v);
    if (m === n) o = v;
  }
  return o;
}
