/**
 * Random well-typed graphs built from the registry's ops and shape rules, for differential
 * testing of the generated code against the interpreter. Values stay in safe domains (log and
 * sqrt of positive inputs, division by positive denominators), so both sides are finite.
 */
import type { Builder } from "../../src/dsl/builder.js";
import type { Node } from "../../src/ir/graph.js";
import { size } from "../../src/ir/shape.js";

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

function randShape(r: Rand): number[] {
  const rank = int(r, 0, 3);
  return Array.from({ length: rank }, () => int(r, 1, 4));
}

function broadcastable(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 1; i <= Math.min(a.length, b.length); i++) {
    const x = a[a.length - i]!;
    const y = b[b.length - i]!;
    if (x !== y && x !== 1 && y !== 1) return false;
  }
  return true;
}

export interface RandomGraphOptions {
  /**
   * Put a g.grad inside the loss: ∂y/∂x for y a weighted sum of the last node and x a random
   * earlier node (a param, an input or an intermediate), added to the loss as a weighted sum, so
   * that the compiled backward differentiates a derivative (second order). The graph's ops are
   * the same as without it (the choice is drawn after them).
   */
  grad?: boolean;
}

/** Build a random graph of about `n` op applications into `g`; returns the loss. */
export function randomGraph(g: Builder, r: Rand, n: number, opts: RandomGraphOptions = {}): Node {
  const nodes: Node[] = [];
  let pc = 0;
  const newParam = (shape: number[]) => {
    const p = g.param(`p${pc++}`, shape, { init: "zeros" });
    nodes.push(p);
    return p;
  };
  newParam(randShape(r));
  if (r() < 0.5) newParam(randShape(r));
  if (r() < 0.3) nodes.push(g.input("x", randShape(r)));
  const unary: ((x: Node) => Node)[] = [
    (x) => g.neg(x),
    (x) => g.tanh(x),
    (x) => g.sigmoid(x),
    (x) => g.relu(x),
    (x) => g.leakyRelu(x, 0.1),
    (x) => g.softplus(x),
    (x) => g.square(x),
    (x) => g.abs(x),
    (x) => g.exp(g.tanh(x)),
    (x) => g.log(g.add(g.softplus(x), 0.5)),
    (x) => g.sqrt(g.add(g.square(x), 1)),
    (x) => g.pow(g.add(g.sigmoid(x), 0.5), 1.5),
    (x) => g.mul(x, 0.5),
    (x) => g.sub(1, x),
  ];
  const binary: ((a: Node, b: Node) => Node)[] = [
    (a, b) => g.add(a, b),
    (a, b) => g.sub(a, b),
    (a, b) => g.mul(a, b),
    (a, b) => g.maximum(a, b),
    (a, b) => g.minimum(a, b),
    (a, b) => g.div(a, g.add(g.softplus(b), 0.5)),
  ];
  for (let step = 0; step < n; step++) {
    const x = pick(r, nodes.slice(-6));
    const kind = r();
    let y: Node;
    if (kind < 0.3) y = pick(r, unary)(x);
    else if (kind < 0.55) {
      const partners = nodes.filter((m) => broadcastable(m.shape, x.shape));
      const other = partners.length && r() < 0.8 ? pick(r, partners) : newParam(x.shape.slice(int(r, 0, x.shape.length)).map((d) => (r() < 0.3 ? 1 : d)));
      y = r() < 0.5 ? pick(r, binary)(x, other) : pick(r, binary)(other, x);
    } else if (kind < 0.7 && x.shape.length > 0) {
      const axes = x.shape.map((_, i) => i).filter(() => r() < 0.5);
      const keep = r() < 0.5;
      const which = r();
      y = which < 0.4 ? g.sum(x, axes.length ? axes : undefined, keep) : which < 0.7 ? g.mean(x, axes.length ? axes : undefined, keep) : g.max(x, axes.length ? axes : undefined, keep);
    } else if (kind < 0.78 && x.shape.length > 1) {
      const perm = x.shape.map((_, i) => i).sort(() => r() - 0.5);
      y = g.transpose(x, perm);
    } else if (kind < 0.84 && x.shape.length > 0) {
      // reshape to a random factorisation of the same size
      let rest = size(x.shape);
      const dims: number[] = [];
      while (rest > 1 && dims.length < 3) {
        const divs = [...Array(rest).keys()].map((k) => k + 1).filter((d) => rest % d === 0 && d > 1);
        const d = pick(r, divs);
        dims.push(d);
        rest /= d;
      }
      if (rest > 1) dims.push(rest);
      y = g.reshape(x, dims.length ? dims : [1]);
    } else if (kind < 0.94 && x.shape.length > 0) {
      // matmul with a new or existing compatible operand
      const k = x.shape[x.shape.length - 1]!;
      const ncols = int(r, 1, 4);
      const form = r();
      if (form < 0.4) y = g.matmul(x, newParam([k, ncols]));
      else if (form < 0.6) y = g.linear(x, newParam([ncols, k]), newParam([ncols]));
      else if (form < 0.8 && x.shape.length >= 2) y = g.matmul(newParam([ncols, x.shape[x.shape.length - 2]!]), x);
      else y = g.matmul(x, newParam([k]));
    } else if (x.shape.length > 0) {
      const axis = int(r, -x.shape.length, x.shape.length - 1);
      y = r() < 0.5 ? g.softmax(x, axis) : g.logSoftmax(x, axis);
    } else y = pick(r, unary)(x);
    nodes.push(y);
  }
  const last = nodes[nodes.length - 1]!;
  g.output("out", last);
  // a weighted sum of the last few nodes, so that their gradients are all different
  const weighted = (m: Node, i: number) => g.sum(g.mul(m, g.constant(Array.from({ length: size(m.shape) }, (_, k) => Math.sin(k + i + 1)), m.shape.length ? [...m.shape] : [])));
  const terms = [nodes[0]!, ...nodes.slice(-3)].map(weighted);
  if (opts.grad) {
    const x = pick(r, nodes.slice(0, -1).length ? nodes.slice(0, -1) : nodes);
    const [dx] = g.grad(weighted(last, 7), [x], { allowUnused: true });
    terms.push(weighted(dx, 11));
  }
  return terms.reduce((a, b) => g.add(a, b));
}
