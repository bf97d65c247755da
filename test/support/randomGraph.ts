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

/**
 * A conv or pooling over x seen as [1, C, H, W] (or [1, C, L] for conv1d): leading axes as channels,
 * a kernel that fits, padding (a number or "same") and stride at random; the result flattened back
 * to rank 2 so that later ops see an ordinary tensor.
 */
function convOrPool(g: Builder, r: Rand, x: Node, newParam: (shape: number[]) => Node): Node {
  const s = x.shape;
  const [H, W] = s.length >= 2 ? [s[s.length - 2]!, s[s.length - 1]!] : [1, s[0]!];
  const C = size(s) / (H * W);
  const which = int(r, 0, 3);
  let y: Node;
  if (which <= 1) {
    const one = which === 1 || H === 1;
    const kh = one ? 1 : int(r, 1, Math.min(3, H));
    const kw = int(r, 1, Math.min(3, W));
    const same = r() < 0.3;
    const groups = C % 2 === 0 && r() < 0.4 ? 2 : 1;
    const O = groups * int(r, 1, 2);
    const bias = r() < 0.5 ? newParam([O]) : undefined;
    const opts = { stride: same ? 1 : int(r, 1, 2), padding: same ? ("same" as const) : int(r, 0, 1), groups };
    y = one
      ? g.conv1d(g.reshape(x, [1, C * H, W]), newParam([O, (C * H) / groups, kw]), bias, opts)
      : g.conv2d(g.reshape(x, [1, C, H, W]), newParam([O, C / groups, kh, kw]), bias, opts);
  } else {
    const k = [int(r, 1, Math.min(3, H)), int(r, 1, Math.min(3, W))];
    const padding = k.map((kd) => int(r, 0, Math.floor(kd / 2)));
    const opts = { stride: [int(r, 1, 2), int(r, 1, 2)], padding };
    const x4 = g.reshape(x, [1, C, H, W]);
    y = which === 2 ? g.maxPool2d(x4, k, opts) : g.avgPool2d(x4, k, { ...opts, countIncludePad: r() < 0.5 });
  }
  return g.reshape(y, [y.shape[1]!, size(y.shape) / y.shape[1]!]);
}

/**
 * Build a random graph of about `n` op applications into `g`; returns the loss. With `ints`, it also
 * draws the integer ops (embedding of int32 ids, crossEntropy of int32 labels, oneHot of labels and of
 * argmax), whose inputs the caller fills in range (src/lower/ranges.ts says which). Without, the same
 * seed gives the same graph as before they existed (the regression fixtures keep their graphs). `modes` adds
 * batchNorm (buffers, training and eval modes), drawing no random numbers when off.
 */
export interface RandomGraphOptions {
  ints?: boolean;
  modes?: boolean;
  /**
   * Put a g.grad inside the loss: ∂y/∂x for y a weighted sum of the last node and x a random
   * earlier node (a param, an input or an intermediate), added to the loss as a weighted sum, so
   * that the compiled backward differentiates a derivative (second order). The graph's ops are
   * the same as without it (the choice is drawn after them).
   */
  grad?: boolean;
}

export function randomGraph(g: Builder, r: Rand, n: number, opts: RandomGraphOptions = {}): Node {
  const ints = opts.ints === true;
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
    (x) => g.gelu(x),
    (x) => g.gelu(x, "tanh"),
    (x) => g.silu(x),
    (x) => g.erf(x),
  ];
  const binary: ((a: Node, b: Node) => Node)[] = [
    (a, b) => g.add(a, b),
    (a, b) => g.sub(a, b),
    (a, b) => g.mul(a, b),
    (a, b) => g.maximum(a, b),
    (a, b) => g.minimum(a, b),
    (a, b) => g.div(a, g.add(g.softplus(b), 0.5)),
  ];
  let ic = 0;
  const intInput = (what: string, shape: number[]) => g.input(`${what}${ic++}`, shape, { dtype: "int32" });
  /** One integer op over x: a gather from a new table, a cross-entropy, or a one-hot mask. */
  const intOp = (x: Node): Node => {
    const which = r();
    if (which < 0.3 || x.shape.length === 0) {
      const table = newParam([int(r, 2, 5), int(r, 1, 4)]);
      return g.embedding(intInput("ids", randShape(r).slice(0, 2)), table);
    }
    const lead = x.shape.slice(0, -1);
    const C = x.shape[x.shape.length - 1]!;
    if (which < 0.6) {
      // an ignored class needs another class beside it, or every label would be ignored (a NaN loss, as PyTorch's)
      const ignoreIndex = r() < 0.5 || C < 2 ? -100 : int(r, 0, C - 1);
      return g.crossEntropy(x, intInput("labels", [...lead]), { ignoreIndex, labelSmoothing: r() < 0.5 ? 0 : 0.1 });
    }
    // a mask from labels, or from x's own argmax (piecewise constant: no gradient through it)
    const labels = which < 0.8 ? intInput("labels", [...lead]) : g.argmax(x, -1);
    return g.mul(x, g.oneHot(labels, C));
  };
  for (let step = 0; step < n; step++) {
    const x = pick(r, nodes.slice(-6));
    if (ints && r() < 0.15) {
      nodes.push(intOp(x));
      continue;
    }
    const kind = r();
    let y: Node;
    const perChannel = x.shape.length >= 2 && x.shape.length <= 4 ? size(x.shape) / x.shape[1]! : 0;
    if (opts.modes && perChannel >= 2 && r() < 0.3) {
      // batch norm of a + tanh(x) ⊙ b for two fixed patterns a, b: batch norm is invariant to a shift or a
      // scale per channel, so x itself (say a bias broadcast over the batch) could have a gradient that is
      // exactly 0 and computed as rounding noise; the patterns also keep every channel's variance away from 0
      const C = x.shape[1]!;
      const k = pc++;
      const pattern = (f: (i: number) => number) => g.constant(Array.from({ length: size(x.shape) }, (_, i) => f(i)), [...x.shape]);
      const spread = g.add(pattern((i) => Math.sin(1.7 * i + k)), g.mul(g.tanh(x), pattern((i) => 1 + 0.5 * Math.cos(0.9 * i + k))));
      const stats = {
        runningMean: g.buffer(`bn${k}.running_mean`, [C]),
        runningVar: g.buffer(`bn${k}.running_var`, [C], { init: "ones" }),
        ...(r() < 0.7 && { weight: newParam([C]) }),
        ...(r() < 0.7 && { bias: newParam([C]) }),
      };
      y = g.batchNorm(spread, stats, { momentum: pick(r, [0.1, 0.5, 1]), eps: pick(r, [1e-5, 1e-3]) });
    } else if (kind < 0.3) y = pick(r, unary)(x);
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
    } else if (kind < 0.97 && x.shape.length > 0) {
      const axis = int(r, -x.shape.length, x.shape.length - 1);
      y = r() < 0.5 ? g.softmax(x, axis) : g.logSoftmax(x, axis);
    } else if (kind < 0.985 && size(x.shape) >= 2) y = convOrPool(g, r, x, newParam);
    else if (x.shape.length > 0) y = sequenceOp(g, r, x, newParam);
    else y = pick(r, unary)(x);
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

/**
 * One of the sequence ops of issue 13 applied to x (rank ≥ 1), with new params where it needs
 * operands: layer norm (eps 0.1, so that nearly constant rows stay well conditioned for the
 * difference quotients), concat and stack, attention with or without the causal mask, LSTM and
 * GRU cells (x as the input [N, I]).
 */
function sequenceOp(g: Builder, r: Rand, x: Node, newParam: (shape: number[]) => Node): Node {
  const s = x.shape;
  const which = r();
  if (which < 0.25) {
    const dims = int(r, 1, s.length);
    const tail = s.slice(s.length - dims);
    return g.layerNorm(x, r() < 0.5 ? newParam(tail) : undefined, r() < 0.5 ? newParam(tail) : undefined, { dims, eps: 0.1 });
  }
  if (which < 0.45) {
    const axis = int(r, -s.length, s.length - 1);
    const other = newParam(s.map((d, i) => (i === (axis + s.length) % s.length ? int(r, 1, 3) : d)));
    return r() < 0.5 ? g.concat([x, other], axis) : g.stack([x, newParam([...s]), x], int(r, -s.length - 1, s.length));
  }
  if (which < 0.75 && s.length >= 2) {
    const lead = s.slice(0, -2);
    const [Lk, dv] = [int(r, 1, 4), int(r, 1, 3)];
    const k = newParam([...lead, Lk, s[s.length - 1]!]);
    return g.scaledDotProductAttention(x, k, newParam([...(r() < 0.5 ? lead : []), Lk, dv]), { causal: r() < 0.5 });
  }
  const x2 = s.length === 2 ? x : g.reshape(x, [1, s.reduce((a, d) => a * d, 1)]);
  const [N, I] = x2.shape as [number, number];
  const H = int(r, 1, 3);
  const bias = (n: number) => (r() < 0.5 ? newParam([n]) : undefined);
  if (r() < 0.5) return g.lstmCell(x2, newParam([N, H]), newParam([N, H]), newParam([4 * H, I]), newParam([4 * H, H]), bias(4 * H), bias(4 * H))[r() < 0.5 ? "h" : "c"];
  return g.gruCell(x2, newParam([N, H]), newParam([3 * H, I]), newParam([3 * H, H]), bias(3 * H), bias(3 * H));
}
