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
  /** For an initializer: declare it as a buffer (state that is not trained: batch norm's running statistics). */
  buffer?(): string;
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

/** A conv or pool's window attributes: kernel, strides, symmetric pads, dilations (ONNX lists pads as begins then ends). */
function windowAttrs(a: NodeArgs, x: Operand, kernel: number[]) {
  const k = kernel.length;
  const autoPad = a.attr("auto_pad");
  if (autoPad !== undefined && autoPad !== "NOTSET") a.fail(`auto_pad ${JSON.stringify(autoPad)} is not supported (export with explicit pads)`);
  if ((a.attr("ceil_mode") ?? 0) !== 0) a.fail("ceil_mode 1 is not supported");
  const pads = (a.attr("pads") as number[] | undefined) ?? new Array<number>(2 * k).fill(0);
  const begin = pads.slice(0, k);
  if (begin.some((p, i) => p !== pads[k + i])) a.fail(`pads ${JSON.stringify(pads)} differ before and after (flatgrad pads both sides alike)`);
  const strides = (a.attr("strides") as number[] | undefined) ?? new Array<number>(k).fill(1);
  const dilations = (a.attr("dilations") as number[] | undefined) ?? new Array<number>(k).fill(1);
  const out = x.shape.slice(0, 2).concat(
    x.shape.slice(2).map((n, i) => Math.floor((n + 2 * begin[i]! - dilations[i]! * (kernel[i]! - 1) - 1) / strides[i]!) + 1),
  );
  const one = (v: number[]) => (k === 1 ? String(v[0]) : lit(v));
  return { k, begin, strides, dilations, out, one };
}

/** PyTorch's GELU as it exports it: x·(erf(x/√2) + 1)·0.5, recognised by `import` (see import.ts). */
export const GELU_PATTERN = "Div(x, √2) → Erf → Add 1 → Mul x → Mul 0.5";

export const HANDLERS: Record<string, Handler> = {
  Erf: unary("erf"),
  Conv: {
    since: 1,
    run: (a) => {
      const [x, W, b] = [need(a, 0), need(a, 1), a.ins[2]];
      const kernel = (a.attr("kernel_shape") as number[] | undefined) ?? W.shape.slice(2);
      if (kernel.length < 1 || kernel.length > 2) a.fail(`a ${kernel.length}-D convolution (flatgrad has conv1d and conv2d)`);
      const w = windowAttrs(a, x, kernel);
      const group = (a.attr("group") as number | undefined) ?? 1;
      const opts = [`stride: ${w.one(w.strides)}`, `padding: ${w.one(w.begin)}`, `dilation: ${w.one(w.dilations)}`, `groups: ${group}`];
      w.out[1] = W.shape[0]!;
      return { expr: `g.conv${w.k}d(${x.expr}, ${W.expr}, ${b ? b.expr : "undefined"}, { ${opts.join(", ")} })`, shape: w.out };
    },
  },
  MaxPool: {
    since: 8,
    run: (a) => {
      const x = need(a, 0);
      const kernel = (a.attr("kernel_shape") as number[] | undefined) ?? a.fail("kernel_shape is missing");
      if (kernel.length !== 2) a.fail(`a ${kernel.length}-D pooling (flatgrad has maxPool2d)`);
      if ((a.attr("storage_order") ?? 0) !== 0) a.fail("storage_order 1 is not supported");
      const w = windowAttrs(a, x, kernel);
      if (w.dilations.some((d) => d !== 1)) a.fail("dilated pooling is not supported");
      return { expr: `g.maxPool2d(${x.expr}, ${lit(kernel)}, { stride: ${lit(w.strides)}, padding: ${lit(w.begin)} })`, shape: w.out };
    },
  },
  AveragePool: {
    since: 7,
    run: (a) => {
      const x = need(a, 0);
      const kernel = (a.attr("kernel_shape") as number[] | undefined) ?? a.fail("kernel_shape is missing");
      if (kernel.length !== 2) a.fail(`a ${kernel.length}-D pooling (flatgrad has avgPool2d)`);
      const w = windowAttrs(a, x, kernel);
      const include = a.attr("count_include_pad") === 1;
      return { expr: `g.avgPool2d(${x.expr}, ${lit(kernel)}, { stride: ${lit(w.strides)}, padding: ${lit(w.begin)}, countIncludePad: ${include} })`, shape: w.out };
    },
  },
  Pad: {
    since: 11,
    run: (a) => {
      const x = need(a, 0);
      if ((a.attr("mode") ?? "constant") !== "constant") a.fail(`mode ${JSON.stringify(a.attr("mode"))} (flatgrad pads with a constant)`);
      const pads = constant(a, 1, "pads");
      const r = x.shape.length;
      if (pads.length !== 2 * r || pads.some((p) => p < 0)) a.fail(`pads ${JSON.stringify(pads)}: flatgrad takes one non-negative [before, after] pair per axis`);
      const value = a.ins[2] ? constant(a, 2, "constant_value")[0] ?? 0 : 0;
      if (a.ins[3]) a.fail("the axes input is not supported");
      const pairs = x.shape.map((_, i) => [pads[i]!, pads[r + i]!]);
      if (pairs.every(([p, q]) => p === 0 && q === 0)) return { expr: x.expr, shape: x.shape };
      return { expr: `g.pad(${x.expr}, ${JSON.stringify(pairs)}, ${value})`, shape: x.shape.map((d, i) => d + pairs[i]![0]! + pairs[i]![1]!) };
    },
  },
  BatchNormalization: {
    since: 15,
    run: (a) => {
      const [x, scale, bias, mean, variance] = [0, 1, 2, 3, 4].map((i) => need(a, i)) as [Operand, Operand, Operand, Operand, Operand];
      if ((a.attr("training_mode") ?? 0) !== 0) a.fail("training_mode 1 (an inference graph has running statistics)");
      if (!mean.buffer || !variance.buffer) a.fail("the running mean and variance must be initializers");
      const eps = (a.attr("epsilon") as number | undefined) ?? 1e-5;
      // ONNX: running·momentum + batch·(1 − momentum); PyTorch's (and flatgrad's) momentum is the batch's share
      const momentum = 1 - ((a.attr("momentum") as number | undefined) ?? 0.9);
      const stats = `{ weight: ${scale.expr}, bias: ${bias.expr}, runningMean: ${mean.buffer!()}, runningVar: ${variance.buffer!()} }`;
      return { expr: `g.batchNorm(${x.expr}, ${stats}, { momentum: ${Number(momentum.toPrecision(7))}, eps: ${eps} })`, shape: x.shape };
    },
  },
  LayerNormalization: {
    since: 17,
    run: (a) => {
      const [x, scale, bias] = [need(a, 0), need(a, 1), a.ins[2]];
      const r = x.shape.length;
      const axis = normAxis((a.attr("axis") as number | undefined) ?? -1, r);
      if ((a.attr("stash_type") ?? 1) !== 1) a.fail("stash_type other than float");
      const eps = (a.attr("epsilon") as number | undefined) ?? 1e-5;
      return { expr: `g.layerNorm(${x.expr}, ${scale.expr}, ${bias ? bias.expr : "undefined"}, { dims: ${r - axis}, eps: ${eps} })`, shape: x.shape };
    },
  },
  Gather: {
    since: 13,
    run: (a) => {
      const [data, ids] = [need(a, 0), need(a, 1)];
      if (normAxis((a.attr("axis") as number | undefined) ?? 0, data.shape.length) !== 0 || data.shape.length !== 2) a.fail("only a 2-D table gathered along axis 0 (an embedding) is supported");
      return { expr: `g.embedding(${ids.expr}, ${data.expr})`, shape: [...ids.shape, data.shape[1]!] };
    },
  },
  Concat: {
    since: 4,
    run: (a) => {
      const xs = a.ins.map((_, i) => need(a, i));
      const axis = normAxis((a.attr("axis") as number | undefined) ?? a.fail("axis is missing"), xs[0]!.shape.length);
      const shape = [...xs[0]!.shape];
      shape[axis] = xs.reduce((n, x) => n + x.shape[axis]!, 0);
      return { expr: `g.concat([${xs.map((x) => x.expr).join(", ")}], ${axis})`, shape };
    },
  },
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
  Conv: ["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"],
  MaxPool: ["auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"],
  AveragePool: ["auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides"],
  Pad: ["mode"],
  BatchNormalization: ["epsilon", "momentum", "training_mode"],
  LayerNormalization: ["axis", "epsilon", "stash_type"],
  Gather: ["axis"],
  Concat: ["axis"],
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
