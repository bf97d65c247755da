/**
 * Family helpers: they take the boilerplate of elementwise and reduction ops, so that an op
 * file holds only what is particular to it.
 */
import { FlatgradError, broadcastShapes, fmtShape, normAxes, rowMajorStrides, size, type Shape } from "../ir/shape.js";
import type { Attrs, Builder, DType, Lanes, NoAttrs, Node, Primitive, TensorLike, OnnxWriter, TorchIO, VjpArgs } from "./types.js";
import type { OpName } from "./index.js";

/** Index of an output element in an input of shape `inShape` broadcast to `outShape`. */
export function broadcastIndex(inShape: Shape, outShape: Shape): (flat: number) => number {
  const outStrides = rowMajorStrides(outShape);
  const inStrides = rowMajorStrides(inShape);
  const lead = outShape.length - inShape.length;
  return (flat) => {
    let idx = 0;
    for (let d = 0; d < outShape.length; d++) {
      const i = Math.floor(flat / outStrides[d]!) % outShape[d]!;
      const di = d - lead;
      if (di >= 0 && inShape[di] !== 1) idx += i * inStrides[di]!;
    }
    return idx;
  };
}

/** Elementwise reference evaluation with NumPy broadcasting. */
export function evalElementwise(f: (...v: number[]) => number, xs: readonly Float64Array[], ins: readonly Shape[], out: Shape): Float64Array {
  const n = size(out);
  const res = new Float64Array(n);
  const maps = ins.map((s) => broadcastIndex(s, out));
  const vals = new Array<number>(xs.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < xs.length; k++) vals[k] = xs[k]![maps[k]!(i)]!;
    res[i] = f(...vals);
  }
  return res;
}

/** The message of an int32 operand where an op takes only floats (FG165), from `lift` and from the dtype rules. */
export const intOperandError = (op: string, role: string, shape?: Shape): FlatgradError =>
  new FlatgradError(
    `${op}: ${role} is an int32 tensor${shape ? ` ${fmtShape(shape)}` : ""}, but ${op} takes only float tensors here (int32 tensors such as labels are accepted only where an op says so)`,
    undefined,
    "FG165",
  );

/**
 * The default dtype rule: the output has the dtype of the inputs, which must be floats (an
 * int32 operand is FG165, naming the operand by its role). Mixed float dtypes cannot occur:
 * every source takes the model's dtype.
 */
export function sameDtype(op: string, roles: readonly string[] = []): (ins: readonly DType[]) => DType {
  return (ins) => {
    const k = ins.indexOf("int32");
    if (k >= 0) throw intOperandError(op, roles[k] ?? `operand ${k}`);
    if (!ins.length || ins.some((d) => d !== ins[0])) throw new Error(`internal: ${op} has operands of dtypes [${ins.join(", ")}] (a source needs a dtype rule)`);
    return ins[0]!;
  };
}

type UnaryCall = (b: Builder, x: TensorLike) => Node;
export type UnaryAttrCall<A> = (b: Builder, x: TensorLike, a?: A) => Node;

interface UnarySpec<A extends Attrs> {
  doc: string;
  /** Reference semantics of one element. */
  f(x: number, attrs: A): number;
  /** The same as a JavaScript expression over `x` (an identifier or element access). */
  expr(x: string, attrs: A): string;
  math(x: string, attrs: A): string;
  /** dy·f'(x) for the one operand (`out` is y = f(x)). */
  vjp(args: VjpArgs<A, readonly [Node]>, b: Builder): [Node | null];
  /** The same in SIMD lanes, with the same semantics as `expr` (optional). */
  lanes?<V>(L: Lanes<V>, x: V, attrs: A): V;
  /** The same as a PyTorch expression (`flatgrad export --torch`). */
  torch?(x: string, attrs: A, io: TorchIO): string;
  /** The same as ONNX nodes (`flatgrad export --onnx`). */
  onnx?(o: OnnxWriter, x: string, attrs: A): string;
}

function unaryCore<A extends Attrs>(name: OpName, s: UnarySpec<A>): Omit<Primitive<UnaryCall, A>, "call"> {
  return {
    kind: "primitive",
    doc: s.doc,
    shape: (ins) => [...ins[0]!],
    dtype: sameDtype(name, ["x"]),
    eval: (xs, ins, attrs, out) => evalElementwise((v) => s.f(v, attrs), xs, ins, out),
    vjp: (args, b) => s.vjp(args as VjpArgs<A, readonly [Node]>, b),
    math: ([x], attrs) => s.math(x!, attrs),
    lower: { kind: "elementwise", expr: ([x], attrs) => s.expr(x!, attrs), ...(s.lanes && { lanes: (L, [x], attrs) => s.lanes!(L, x!, attrs) }) },
    ...(s.torch && { torch: ([x], attrs, io) => s.torch!(x!, attrs, io) }),
    ...(s.onnx && { onnx: (o, [x], attrs) => s.onnx!(o, x!, attrs) }),
  };
}

/** A unary elementwise op `y = f(x)`. */
export function unary(name: OpName, s: UnarySpec<NoAttrs>): Primitive<UnaryCall, NoAttrs> {
  return { ...unaryCore(name, s), call: (b, x) => b.apply(name, [b.lift(x, name, "x")]) };
}

/** A unary elementwise op with one numeric attribute (`leakyRelu(x, slope)`, `pow(x, exponent)`). */
export function unaryWithAttr<K extends string>(
  name: OpName,
  attr: K,
  dflt: number | undefined,
  s: UnarySpec<NoInfer<Record<K, number>>>,
): Primitive<UnaryAttrCall<number>, Record<K, number>> {
  return {
    ...unaryCore(name, s),
    call: (b, x, a) => b.apply(name, [b.lift(x, name, "x")], { [attr]: b.number(name, attr, a ?? dflt) }),
  };
}

interface BinarySpec {
  doc: string;
  f(a: number, b: number): number;
  expr(a: string, b: string): string;
  math(a: string, b: string): string;
  /** Gradients for a and b at the output shape; the family sums them back to each operand's shape (`unbroadcast`). */
  vjp(args: VjpArgs<NoAttrs, readonly [Node, Node]>, b: Builder): [Node | null, Node | null];
  /** The same in SIMD lanes, with the same semantics as `expr` (optional). */
  lanes?<V>(L: Lanes<V>, a: V, b: V): V;
  /** The same as a PyTorch expression (`flatgrad export --torch`); broadcasting is PyTorch's. */
  torch?(a: string, b: string, io: TorchIO): string;
  /** The same as ONNX nodes (`flatgrad export --onnx`); broadcasting is ONNX's (NumPy's). */
  onnx?(o: OnnxWriter, a: string, b: string): string;
}

/** A binary elementwise op with NumPy broadcasting; plain numbers are accepted for either operand. */
export function binary(name: OpName, s: BinarySpec): Primitive<(b: Builder, x: TensorLike, y: TensorLike) => Node, NoAttrs> {
  return {
    kind: "primitive",
    doc: s.doc,
    call: (b, x, y) => b.apply(name, [b.lift(x, name, "a"), b.lift(y, name, "b")]),
    shape: (ins) => broadcastShapes(name, ins[0]!, ins[1]!),
    dtype: sameDtype(name, ["a", "b"]),
    eval: (xs, ins, _attrs, out) => evalElementwise(s.f, xs, ins, out),
    vjp: (args, b) => {
      const [x, y] = args.inputs as readonly [Node, Node];
      const [gx, gy] = s.vjp(args as VjpArgs<NoAttrs, readonly [Node, Node]>, b);
      return [gx && b.unbroadcast(gx, x.shape), gy && b.unbroadcast(gy, y.shape)];
    },
    math: ([a, c]) => s.math(a!, c!),
    lower: { kind: "elementwise", expr: ([a, c]) => s.expr(a!, c!), ...(s.lanes && { lanes: (L, [a, c]) => s.lanes!(L, a!, c!) }) },
    ...(s.torch && { torch: ([a, c], _attrs, io) => s.torch!(a!, c!, io) }),
    ...(s.onnx && { onnx: (o, [a, c]) => s.onnx!(o, a!, c!) }),
  };
}

/** Shape after reducing `axes` of `s`. */
export function reducedShape(s: Shape, axes: readonly number[], keepDims: boolean): number[] {
  return keepDims ? s.map((d, i) => (axes.includes(i) ? 1 : d)) : s.filter((_, i) => !axes.includes(i));
}

/** The attributes of a reduction: the reduced axes (sorted, non-negative) and NumPy's keepDims. */
export type ReduceAttrs = { axes: number[]; keepDims: boolean };

interface ReduceSpec {
  doc: string;
  init: number;
  combine(acc: number, v: number): number;
  lowerInit: string;
  lowerCombine(acc: string, v: string): string;
  symbol: string;
  /** The PyTorch function reducing over `dim` with `keepdim` (`torch.sum`, `torch.amax`). */
  torch?: string;
  /** The ONNX reduction (`ReduceSum`, `ReduceMax`) and whether opset 17 takes its axes as an input (ReduceSum) or an attribute. */
  onnx?: { op: string; axesInput: boolean };
  /** The gradient for the one operand x (`out` is the reduced value, `dy` shaped like it). */
  vjp(args: VjpArgs<ReduceAttrs, readonly [Node]>, b: Builder): [Node | null];
}

type ReduceCall = (b: Builder, x: TensorLike, axes?: number | number[], keepDims?: boolean) => Node;

/** dy broadcast back over the reduced axes to x's shape (a keepDims-less dy gets its size-1 axes back first). */
export function broadcastBack(b: Builder, dy: Node, x: Node, { axes, keepDims }: ReduceAttrs): Node {
  return b.broadcastTo(keepDims ? dy : b.reshape(dy, reducedShape(x.shape, axes, true)), [...x.shape]);
}

/** A reduction over some axes (all by default), with NumPy's keepDims. */
export function reduce(name: OpName, s: ReduceSpec): Primitive<ReduceCall, ReduceAttrs> {
  return {
    kind: "primitive",
    doc: s.doc,
    call: (b, x, axes, keepDims = false) => {
      const xn = b.lift(x, name, "x");
      return b.apply(name, [xn], { axes: normAxes(name, axes, xn.shape), keepDims: keepDims === true });
    },
    shape: (ins, attrs) => reducedShape(ins[0]!, normAxes(name, attrs.axes, ins[0]!), attrs.keepDims === true),
    dtype: sameDtype(name, ["x"]),
    eval: (xs, ins, { axes }) => {
      const inS = ins[0]!;
      const keptShape = inS.map((d, i) => (axes.includes(i) ? 1 : d));
      const res = new Float64Array(size(keptShape)).fill(s.init);
      const map = broadcastIndex(keptShape, inS); // input element -> its output slot
      const x = xs[0]!;
      for (let i = 0; i < x.length; i++) {
        const o = map(i);
        res[o] = s.combine(res[o]!, x[i]!);
      }
      return res;
    },
    vjp: (args, b) => s.vjp(args as VjpArgs<ReduceAttrs, readonly [Node]>, b),
    math: ([x], { axes }) => `${s.symbol}${axes.length ? `[axes ${axes.join(",")}]` : ""}${x!.startsWith("(") ? x : `(${x})`}`,
    lower: { kind: "reduce", init: s.lowerInit, combine: s.lowerCombine },
    ...(s.onnx && {
      onnx: (o, [x], { axes, keepDims }) =>
        s.onnx!.axesInput ? o.node(s.onnx!.op, [x!, o.ints(axes)], { keepdims: { i: keepDims ? 1 : 0 } }) : o.node(s.onnx!.op, [x!], { axes: { ints: axes }, keepdims: { i: keepDims ? 1 : 0 } }),
    }),
    ...(s.torch && { torch: ([x], { axes, keepDims }) => `${s.torch}(${x}, dim=(${axes.map((a) => `${a},`).join(" ")}), keepdim=${keepDims ? "True" : "False"})` }),
  };
}

export const shapeErr = (op: string, names: string[], shapes: readonly Shape[], why: string): string =>
  `${op}: ${names.map((n, i) => `${n} is ${fmtShape(shapes[i]!)}`).join(" but ")}: ${why}`;
