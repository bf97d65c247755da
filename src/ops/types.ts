import type { DType, FloatDType, Node } from "../ir/graph.js";
import type { Shape } from "../ir/shape.js";
import type { Builder } from "../dsl/builder.js";
import type { Epilogue, KernelWriter, View } from "../lower/view.js";
import type { SimdPlan } from "../wasm/plan.js";
import type { IndexRange } from "./indices.js";

export type Attrs = Record<string, unknown>;
/** The attributes of an op that has none. */
export type NoAttrs = Record<string, never>;

/**
 * What a derivative rule receives: the node's operands, the node itself (its value, `out`), the
 * cotangent `dy` flowing into it (shaped like `out`) and its attributes. One shape for every op.
 */
export interface VjpArgs<A extends Attrs = Attrs, I extends readonly Node[] = readonly Node[]> {
  readonly inputs: I;
  readonly out: Node;
  readonly dy: Node;
  readonly attrs: A;
}
/** What a builder method accepts as a tensor: a node, or a plain number (a scalar constant). */
export type TensorLike = Node | number;
export type { Node, Shape, Builder, DType, FloatDType };

/**
 * The arithmetic an elementwise op may be written in to run in SIMD lanes, after a matmul or as an
 * elementwise kernel of its own (src/wasm implements it with f32x4 instructions). An op that is not
 * written in it (tanh, …) runs in the JavaScript loops instead.
 */
export interface Lanes<V> {
  add(a: V, b: V): V;
  sub(a: V, b: V): V;
  mul(a: V, b: V): V;
  div(a: V, b: V): V;
  neg(a: V): V;
  num(c: number): V;
  /** `a > b ? x : y`, as JavaScript compares: false when either is NaN. */
  ifGreater(a: V, b: V, x: V, y: V): V;
  // What only some targets have (the elementwise map kernels, src/wasm/map.ts; not a matmul's or a
  // conv's epilogue): an op written with one runs in the lanes of a target that has it, and in
  // JavaScript elsewhere (src/lower/kernels.ts asks which methods an expression calls).
  /** eˣ, as Math.exp rounded to the lanes' precision (within an ulp or two). */
  exp?(a: V): V;
  /** erf(x), as the model's erf rounded to the lanes' precision (within an ulp or two). */
  erf?(a: V): V;
  /** Math.max and Math.min: NaN if either is NaN, and +0 above −0. */
  max?(a: V, b: V): V;
  min?(a: V, b: V): V;
  abs?(a: V): V;
  /** √x, correctly rounded. */
  sqrt?(a: V): V;
}

/** How a primitive becomes loops (the callbacks receive the op's typed attributes `A`). */
export type Lowering<A extends Attrs = Attrs> =
  /** One expression per element; inputs are broadcast to the output shape by index maps. */
  | { kind: "elementwise"; expr(args: string[], attrs: A): string; lanes?<V>(L: Lanes<V>, args: V[], attrs: A): V }
  /** A reduction over `attrs.axes`: acc = init; acc = combine(acc, v). */
  | { kind: "reduce"; init: string; combine(acc: string, v: string): string }
  /** A movement op: a new index map over the same buffer, never a copy (null: needs a contiguous input). */
  | { kind: "view"; view(v: View, attrs: A, out: Shape): View | null }
  /** Parameters, inputs and constants: buffers that exist before any kernel runs. */
  | { kind: "source"; source: SourceKind }
  /** An op with loops of its own (matmul, the max mask). What it supports, it declares here. */
  | {
      kind: "kernel";
      emit(w: KernelWriter, out: View, ins: View[], attrs: A, epilogue?: Epilogue): void;
      /** Whether an elementwise tail (bias, activation, mask) may be applied as it stores, for these operand shapes. */
      fusesEpilogue?(ins: readonly Shape[]): boolean;
      /** Whether it draws from the model's seeded generator (dropout's masks): the module then provides one. */
      random?: boolean;
      /**
       * A WebAssembly SIMD plan for a float32 model, from the operands' views (undefined: the loops
       * only); `operands`, the node's inputs, for a plan that relies on how an operand was made.
       */
      simd?(ins: readonly View[], attrs: A, operands: readonly Node[]): SimdPlan | undefined;
    };

/** Where a source's values come from: data, trained params, state that is not trained, or literals. */
export type SourceKind = "input" | "param" | "buffer" | "constant";

/**
 * A primitive: shape rule, reference semantics, derivative and lowering, in one place. `A` is the
 * type of its attributes (`{ axes: number[]; keepDims: boolean }` for sum), which every rule
 * receives. The rules are methods, so a primitive with typed attributes is still a `Primitive`.
 */
export interface Primitive<C extends (b: Builder, ...args: never[]) => Node = (b: Builder, ...args: never[]) => Node, A extends Attrs = Attrs> {
  kind: "primitive";
  /** What the op means, one line. */
  doc: string;
  /** The builder method `g.<op>(...)`. */
  call: C;
  /** Output shape from input shapes; throws a FlatgradError naming the op and every operand shape. */
  shape(ins: readonly Shape[], attrs: A): number[];
  /**
   * Output dtype from input dtypes (`float` is the model's dtype, for sources); throws a
   * FlatgradError (FG165) for an int32 operand the op does not accept. Absent: "the same as the
   * inputs, which must be floats" (`sameDtype`).
   */
  dtype?(ins: readonly DType[], attrs: A, float: FloatDType): DType;
  /** The operand roles (as `lift` names them) that accept int32 tensors (`true`: all); none when absent. */
  intOperands?: readonly string[] | true;
  /** Reference semantics in float64 (the interpreter's oracle), written as plain loops. */
  eval(xs: readonly Float64Array[], ins: readonly Shape[], attrs: A, out: Shape): Float64Array;
  /**
   * Vector-Jacobian product: dy·∂out/∂input for each input, built as IR through `b`; one entry
   * per input, `null` where no gradient flows.
   */
  vjp(args: VjpArgs<A>, b: Builder): (Node | null)[];
  /** The math in the tutorial's notation, for comments and `explain`. */
  math(args: string[], attrs: A): string;
  lower: Lowering<A>;
  /**
   * For each operand, the values an int32 operand may hold (labels in [0, C), ids in [0, rows));
   * the generated entry points check the int32 inputs against them before any kernel runs.
   */
  indexRange?(ins: readonly Shape[], attrs: A): (IndexRange | undefined)[];
  /**
   * The op as a PyTorch expression over its operands' Python expressions (`flatgrad export --torch`):
   * the same value, and autograd's gradient equal to `vjp`'s. Absent: the op cannot be exported yet.
   */
  torch?(args: string[], attrs: A, io: TorchIO): string;
  /**
   * The op as ONNX nodes (opset 17) over its operands' value names (`flatgrad export --onnx`):
   * returns the name of the value it computes. Absent: the op cannot be exported to ONNX yet.
   */
  onnx?(o: OnnxWriter, args: string[], attrs: A, io: TorchIO): string;
  /** An op whose value depends on the mode: the input each mode reads (src/ir/modes.ts resolves it per entry point). */
  modeBranch?: { train: number; eval: number };
}

/** What a `torch` rule may need besides its operands: their shapes, the result's, and the model's torch dtype. */
export interface TorchIO {
  ins: readonly Shape[];
  out: Shape;
  /** `torch.float32` or `torch.float64`. */
  dtype: string;
}

/** An ONNX attribute: a float, an int, a list of ints or a string. */
export type OnnxAttr = { f: number } | { i: number } | { ints: readonly number[] } | { s: string };

/** What an `onnx` rule writes with (src/interop/onnx/export.ts). */
export interface OnnxWriter {
  /** Add a node `op(inputs)`; returns the name of its output. */
  node(op: string, inputs: readonly string[], attrs?: Record<string, OnnxAttr>): string;
  /** An int64 tensor initializer (shapes, axes, pads, indices), shaped `shape` (default: a list); `elemType` 6 for int32. */
  ints(values: readonly number[], shape?: readonly number[], elemType?: number): string;
  /** A float initializer in the model's dtype, shaped `shape`. */
  floats(values: readonly number[], shape: readonly number[]): string;
  /** A scalar initializer in the model's dtype. */
  scalar(v: number): string;
  /** The ONNX element type of the model's dtype (1 FLOAT, 11 DOUBLE), for Cast. */
  readonly floatType: number;
}

/** A composite: built from other ops by the builder (the differentiator never sees it). */
/** A composite returns a tensor, or named tensors (`lstmCell` → `{ h, c }`). */
export interface Composite<C extends (b: Builder, ...args: never[]) => Node | Readonly<Record<string, Node>> = (b: Builder, ...args: never[]) => Node | Readonly<Record<string, Node>>> {
  kind: "composite";
  doc: string;
  call: C;
  /** The operand roles (as `lift` names them) that accept int32 tensors (`true`: all); none when absent. */
  intOperands?: readonly string[] | true;
}

export type OpDef = Primitive | Composite;
