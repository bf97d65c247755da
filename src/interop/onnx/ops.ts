/**
 * The ONNX ops `flatgrad import` reads, each as builder calls. A handler receives its node's
 * operands (a TypeScript expression and a shape each, and the values of constant operands) and
 * the default domain's opset version, and returns the expression and the shape of its output.
 * Where an op changed between opsets (axes from an attribute to an input, Softmax's axis), the
 * handler resolves the version; `since` is the first opset the importer accepts for that op.
 */
import { size } from "../../ir/shape.js";

export interface Operand {
  /** A TypeScript expression for the tensor (a variable name), or undefined for an omitted optional input. */
  expr: string;
  shape: number[];
  /** The values of a constant operand (an initializer or Constant node), for shapes, axes, pads and exponents. */
  values?: number[];
}

export interface NodeArgs {
  ins: (Operand | undefined)[];
  attr(name: string): number | number[] | string | undefined;
  opset: number;
  /** Throw the importer's error for this node (FG234): `what` says which attribute or input and why. */
  fail(what: string): never;
}

export interface Handler {
  since: number;
  run(a: NodeArgs): { expr: string; shape: number[] };
}

const lit = (v: readonly number[]) => `[${v.join(", ")}]`;
const need = (a: NodeArgs, i: number): Operand => a.ins[i] ?? a.fail(`input ${i} is missing`);
const constant = (a: NodeArgs, i: number, what: string): number[] => {
  const op = need(a, i);
  return op.values ?? a.fail(`input ${i} (${what}) must be a constant (an initializer or a Constant node): flatgrad's shapes are fixed at build time`);
};
const normAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);
const broadcast = (s: number[], t: number[]): number[] => {
  const r = Math.max(s.length, t.length);
  return Array.from({ length: r }, (_, i) => {
    const a = s[s.length - r + i] ?? 1;
    const b = t[t.length - r + i] ?? 1;
    return a === 1 ? b : a;
  });
};

const unary = (fn: string): Handler => ({ since: 1, run: (a) => ({ expr: `g.${fn}(${need(a, 0).expr})`, shape: need(a, 0).shape }) });
const binary = (fn: string): Handler => ({
  since: 7,
  run: (a) => ({ expr: `g.${fn}(${need(a, 0).expr}, ${need(a, 1).expr})`, shape: broadcast(need(a, 0).shape, need(a, 1).shape) }),
});
const reshape = (x: Operand, shape: number[]) => ({ expr: `g.reshape(${x.expr}, ${lit(shape)})`, shape });

/** Reduce over `axes` (from the attribute before `inputSince`, from input 1 after). */
const reduction = (fn: "sum" | "mean" | "max", inputSince: number): Handler => ({
  since: 11,
  run: (a) => {
    const x = need(a, 0);
    const keep = (a.attr("keepdims") ?? 1) === 1;
    let axes: number[] | undefined = a.opset >= inputSince ? (a.ins[1] ? constant(a, 1, "axes") : undefined) : (a.attr("axes") as number[] | undefined);
    if (axes === undefined || axes.length === 0) {
      if (a.opset >= inputSince && a.attr("noop_with_empty_axes") === 1) return { expr: x.expr, shape: x.shape };
      axes = x.shape.map((_, i) => i);
    }
    const ax = axes.map((v) => normAxis(v, x.shape.length)).sort((p, q) => p - q);
    const shape = keep ? x.shape.map((d, i) => (ax.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !ax.includes(i));
    return { expr: `g.${fn}(${x.expr}, ${lit(ax)}${keep ? ", true" : ""})`, shape };
  },
});

/** Softmax and LogSoftmax: one axis from opset 13; before, the input flattened to 2-D at `axis` (default 1). */
const softmax = (fn: "softmax" | "logSoftmax"): Handler => ({
  since: 1,
  run: (a) => {
    const x = need(a, 0);
    const r = x.shape.length;
    const axis = normAxis((a.attr("axis") as number | undefined) ?? (a.opset >= 13 ? -1 : 1), r);
    if (a.opset >= 13 || axis === r - 1) return { expr: `g.${fn}(${x.expr}, ${axis})`, shape: x.shape };
    const flat = [size(x.shape.slice(0, axis)), size(x.shape.slice(axis))];
    return { expr: `g.reshape(g.${fn}(g.reshape(${x.expr}, ${lit(flat)}), 1), ${lit(x.shape)})`, shape: x.shape };
  },
});

export const HANDLERS: Record<string, Handler> = {
  Add: binary("add"),
  Sub: binary("sub"),
  Mul: binary("mul"),
  Div: binary("div"),
  Max: { since: 8, run: (a) => (a.ins.length === 2 ? binary("maximum").run(a) : a.fail(`Max of ${a.ins.length} inputs (flatgrad's maximum takes 2)`)) },
  Min: { since: 8, run: (a) => (a.ins.length === 2 ? binary("minimum").run(a) : a.fail(`Min of ${a.ins.length} inputs (flatgrad's minimum takes 2)`)) },
  Relu: unary("relu"),
  Sigmoid: unary("sigmoid"),
  Tanh: unary("tanh"),
  Exp: unary("exp"),
  Log: unary("log"),
  Sqrt: unary("sqrt"),
  Abs: unary("abs"),
  Neg: unary("neg"),
  Sign: unary("sign"),
  Softplus: unary("softplus"),
  Identity: { since: 1, run: (a) => ({ expr: need(a, 0).expr, shape: need(a, 0).shape }) },
  // inference graphs: Dropout is the identity (its mask output is not supported)
  Dropout: { since: 7, run: (a) => ({ expr: need(a, 0).expr, shape: need(a, 0).shape }) },
  LeakyRelu: { since: 6, run: (a) => ({ expr: `g.leakyRelu(${need(a, 0).expr}, ${(a.attr("alpha") as number | undefined) ?? 0.01})`, shape: need(a, 0).shape }) },
  Pow: {
    since: 7,
    run: (a) => {
      const e = constant(a, 1, "exponent");
      if (e.length !== 1) a.fail(`the exponent must be one number, got ${e.length}`);
      return e[0] === 2 ? { expr: `g.square(${need(a, 0).expr})`, shape: need(a, 0).shape } : { expr: `g.pow(${need(a, 0).expr}, ${e[0]})`, shape: need(a, 0).shape };
    },
  },
  MatMul: {
    since: 1,
    run: (a) => {
      const [s, t] = [need(a, 0).shape, need(a, 1).shape];
      const batch = broadcast(s.slice(0, -2), t.slice(0, -2));
      const shape = [...batch, ...(s.length > 1 ? [s[s.length - 2]!] : []), ...(t.length > 1 ? [t[t.length - 1]!] : [])];
      return { expr: `g.matmul(${need(a, 0).expr}, ${need(a, 1).expr})`, shape };
    },
  },
  Gemm: {
    since: 7,
    run: (a) => {
      const [A, B, C] = [need(a, 0), need(a, 1), a.ins[2]];
      const [tA, tB] = [a.attr("transA") === 1, a.attr("transB") === 1];
      const [alpha, beta] = [(a.attr("alpha") as number | undefined) ?? 1, (a.attr("beta") as number | undefined) ?? 1];
      const m = tA ? A.shape[1]! : A.shape[0]!;
      const n = tB ? B.shape[0]! : B.shape[1]!;
      // PyTorch's nn.Linear exports as Gemm(x, W, b, transB=1): flatgrad's linear, W shaped [out, in]
      if (!tA && tB && alpha === 1 && (beta === 1 || !C)) return { expr: `g.linear(${A.expr}, ${B.expr}${C ? `, ${C.expr}` : ""})`, shape: [m, n] };
      let e = `g.matmul(${tA ? `g.transpose(${A.expr})` : A.expr}, ${tB ? `g.transpose(${B.expr})` : B.expr})`;
      if (alpha !== 1) e = `g.mul(${e}, ${alpha})`;
      if (C) e = `g.add(${e}, ${beta === 1 ? C.expr : `g.mul(${C.expr}, ${beta})`})`;
      return { expr: e, shape: [m, n] };
    },
  },
  Transpose: {
    since: 1,
    run: (a) => {
      const x = need(a, 0);
      const perm = (a.attr("perm") as number[] | undefined) ?? x.shape.map((_, i) => x.shape.length - 1 - i);
      return { expr: `g.transpose(${x.expr}, ${lit(perm)})`, shape: perm.map((p) => x.shape[p]!) };
    },
  },
  Reshape: {
    since: 5,
    run: (a) => {
      const x = need(a, 0);
      const spec = constant(a, 1, "shape");
      const allowZero = a.attr("allowzero") === 1;
      const shape = spec.map((d, i) => (d === 0 && !allowZero ? x.shape[i]! : d));
      const known = shape.filter((d) => d !== -1).reduce((p, q) => p * q, 1);
      return reshape(x, shape.map((d) => (d === -1 ? size(x.shape) / known : d)));
    },
  },
  Flatten: {
    since: 1,
    run: (a) => {
      const x = need(a, 0);
      const axis = normAxis((a.attr("axis") as number | undefined) ?? 1, x.shape.length);
      return reshape(x, [size(x.shape.slice(0, axis)), size(x.shape.slice(axis))]);
    },
  },
  Unsqueeze: {
    since: 1,
    run: (a) => {
      const x = need(a, 0);
      const axes = a.opset >= 13 ? constant(a, 1, "axes") : ((a.attr("axes") as number[] | undefined) ?? a.fail("attribute axes is missing"));
      const r = x.shape.length + axes.length;
      const ax = axes.map((v) => normAxis(v, r));
      const shape: number[] = [];
      let j = 0;
      for (let i = 0; i < r; i++) shape.push(ax.includes(i) ? 1 : x.shape[j++]!);
      return reshape(x, shape);
    },
  },
  Squeeze: {
    since: 1,
    run: (a) => {
      const x = need(a, 0);
      const axes = a.opset >= 13 ? (a.ins[1] ? constant(a, 1, "axes") : undefined) : (a.attr("axes") as number[] | undefined);
      const ax = (axes ?? x.shape.flatMap((d, i) => (d === 1 ? [i] : []))).map((v) => normAxis(v, x.shape.length));
      return reshape(x, x.shape.filter((_, i) => !ax.includes(i)));
    },
  },
  ReduceSum: reduction("sum", 13),
  ReduceMean: reduction("mean", 18),
  ReduceMax: reduction("max", 18),
  Softmax: softmax("softmax"),
  LogSoftmax: softmax("logSoftmax"),
};

/** The attributes each op's handler reads; any other attribute on a node is refused (FG234). */
export const KNOWN_ATTRS: Record<string, readonly string[]> = {
  LeakyRelu: ["alpha"],
  Dropout: ["seed", "ratio"],
  Gemm: ["transA", "transB", "alpha", "beta"],
  Transpose: ["perm"],
  Reshape: ["allowzero"],
  Flatten: ["axis"],
  Unsqueeze: ["axes"],
  Squeeze: ["axes"],
  ReduceSum: ["keepdims", "axes", "noop_with_empty_axes"],
  ReduceMean: ["keepdims", "axes", "noop_with_empty_axes"],
  ReduceMax: ["keepdims", "axes", "noop_with_empty_axes"],
  Softmax: ["axis"],
  LogSoftmax: ["axis"],
};
