/** Shapes are row-major arrays of positive integers; [] is a scalar. */
export type Shape = readonly number[];

/**
 * Every error a model file can cause, by stable code, with a one-line meaning.
 * docs/errors.md holds the same table; test/errors.test.ts checks that they agree.
 */
export const ERROR_CODES = {
  FG100: "an op argument has the wrong type (e.g. a string where a tensor or number is needed)",
  FG101: "the model file threw an error while it was loading (top-level code)",
  FG102: "the model file has no default export",
  FG103: "the default export is not a model made by defineModel({ ... })",
  FG104: "the model file cannot be read",
  FG105: "two model files would write the same generated file",
  FG106: "syntax error in the model file",
  FG107: "the model file imports a module that cannot be found",
  FG108: "build(g) threw an error of its own (not a flatgrad error)",
  FG109: "defineModel: an unknown field, or build is not a function",
  FG110: "invalid name for an input, param, buffer or output",
  FG111: "duplicate name: two inputs, params or buffers, or two outputs, share a name",
  FG112: "a declaration (or an assign) outside build(g)",
  FG113: "assign: the target is not a buffer, or the buffer already has an update",
  FG120: "build(g) returned something that is not a tensor",
  FG121: "the loss is not a scalar",
  FG122: "the loss does not depend on any param",
  FG123: "the model has no outputs and no loss",
  FG130: "unknown optimizer type, or the optimizer is not an object",
  FG131: "unknown optimizer field",
  FG132: "invalid optimizer field value",
  FG140: "elementwise operands cannot be broadcast together (add, sub, mul, div, maximum, minimum)",
  FG141: "matmul: the inner sizes differ",
  FG142: "matmul: the batch axes cannot be broadcast",
  FG143: "matmul: an operand is a scalar",
  FG144: "linear: x and W do not fit (inner sizes differ, or W is not 2-D, or x is a scalar)",
  FG145: "linear: the bias does not match W's out size",
  FG146: "broadcastTo: x cannot be broadcast to the target shape",
  FG147: "a loss's operands have different shapes (mse, bce, bceWithLogits, softmaxCrossEntropy)",
  FG148: "assign: the value's shape or dtype differs from the buffer's",
  FG149: "byMode: the training and eval values have different shapes",
  FG150: "bad axis: out of range, not an integer, or repeated (sum, mean, max, softmax, logSoftmax)",
  FG151: "transpose: perm is not a permutation of the axes",
  FG152: "reshape: the new shape does not hold the same number of elements, or is not a valid shape",
  FG153: "window: a kernel, stride or dilation that is not a positive integer per axis, or a window that does not fit",
  FG154: "slice: an index that is not an integer, or a range that selects nothing",
  FG155: "pad: not one [before, after] pair of integers ≥ 0 per axis",
  FG160: "invalid shape: not an array, or a dimension that is not a positive integer",
  FG161: "constant: the number of values does not fill the shape",
  FG162: "a non-finite number (NaN or ±Infinity) as a constant, operand or op attribute",
  FG163: "invalid dtype",
  FG164: "unknown param or buffer init, or invalid param or buffer options",
  FG165: "an int32 tensor as an operand the op accepts only as a float tensor",
  FG166: "invalid input options: an unknown option, or a dtype other than \"int32\" or the model's",
  // gradients of gradients and custom gradients (issue 14)
  FG200: "grad: y is not a scalar",
  FG201: "grad: y or an entry of xs is not a tensor of this model's graph, or bad options",
  FG202: "grad: y does not depend on an entry of xs (pass { allowUnused: true } for zeros)",
  FG203: "customGrad: the rule does not return one gradient (or null) per input",
  FG204: "customGrad: a gradient of the rule has another shape or dtype than its input",
  FG205: "customGrad: fn or the rule is not a function, or fn does not return one tensor",
  FG170: "a generated file could not be written (nothing was changed)",
  FG171: "invalid dotted name: an empty part, a leading or trailing dot, or a part that is neither an identifier nor a non-negative integer",
  FG172: "a float tensor (or a number) as ids or labels, where the op takes an int32 tensor (crossEntropy, embedding, oneHot)",
  FG173: "a param or buffer name under \"optimizer.\": those are the checkpoint keys of the optimizer's state",
  FG174: "an invalid argument of an op on labels or ids: numClasses or ignoreIndex not an integer, labelSmoothing outside [0, 1], an unknown option",
  FG175: "int32 operands that do not fit: crossEntropy's labels not shaped as the logits without the class axis, embedding's table not 2-D",
  FG180: "conv: x's channels do not match W's (C ≠ W's in-channels × groups), an operand of the wrong rank, or a bias that is not [out channels]",
  FG181: "conv: groups is not a positive integer that divides both the input and the output channels",
  FG182: "conv or pooling: the window is larger than the padded input",
  FG183: "conv or pooling: a kernel, stride or dilation that is not a positive integer (or one per spatial axis)",
  FG184: "conv or pooling: a padding that is not a non-negative integer (or one per spatial axis), or \"same\" with a stride other than 1",
  FG185: "pooling: a padding larger than half the kernel",
  FG190: "batchNorm: x is not of rank 2, 3 or 4 ([N, C], [N, C, L] or [N, C, H, W])",
  FG191: "batchNorm: runningMean or runningVar is missing, not a buffer, or not shaped [C]",
  FG192: "batchNorm: weight or bias is not shaped [C]",
  FG193: "batchNorm: momentum is not in [0, 1], or eps is not a finite number > 0",
  FG194: "batchNorm: one value per channel, so training mode has no batch variance",
  FG195: "dropout: p is not a probability in [0, 1)",
  // sequence ops (issue 13)
  FG220: "scaledDotProductAttention: q, k and v do not line up (head sizes, key and value lengths, batch axes), or a bad option",
  FG221: "layerNorm: dims out of range, weight or bias not shaped like the normalised axes, or a bad eps",
  FG222: "concat or stack: no operands, or operands whose ranks or sizes differ off the axis (stack: anywhere)",
  FG223: "gelu: approximate is not \"none\" or \"tanh\"",
  FG224: "lstmCell or gruCell: x, h, c, the weights or the biases do not fit 4H (LSTM) or 3H (GRU) and the input size",
  FG230: "export --torch: an op of the model has no PyTorch form yet",
  FG231: "export --onnx: the model has no outputs, or an op of the model has no ONNX form yet",
  FG232: "export --onnx: the parameters given lack a param or buffer of the model, or hold it with another shape",
  FG233: "import: the file is not a valid ONNX model (unreadable protobuf, no graph, a dangling or repeated value name)",
  FG234: "import: an ONNX op, op version or attribute that flatgrad does not support",
  FG235: "import: a graph input, output or initializer flatgrad cannot take (a dynamic dimension, an unsupported element type)",
  FG900: "internal compiler error (a bug in flatgrad: please report it)",
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

/** A user mistake found at build time. `site` is filled in by the builder with the model file position. */
export class FlatgradError extends Error {
  constructor(
    message: string,
    public site?: Site,
    public code: ErrorCode = "FG100",
  ) {
    super(message);
    this.name = "FlatgradError";
  }
}

export interface Site {
  file: string;
  line: number;
  col: number;
}

export const fmtShape = (s: Shape): string => `[${s.join(",")}]`;
export const size = (s: Shape): number => s.reduce((a, b) => a * b, 1);
export const sameShape = (a: Shape, b: Shape): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** Row-major strides of a contiguous tensor. */
export function rowMajorStrides(s: Shape): number[] {
  const st = new Array<number>(s.length);
  let acc = 1;
  for (let i = s.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= s[i]!;
  }
  return st;
}

/** A user-given value that should be a shape, printed as written (NaN and Infinity stay readable). */
export function fmtValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(fmtValue).join(",")}]`;
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean" || v === undefined || v === null) return String(v);
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v);
  if (typeof v === "function") return "a function";
  return typeof v === "object" && "shape" in v && Array.isArray((v as { shape: unknown }).shape) ? `a tensor ${fmtValue((v as { shape: unknown }).shape)}` : "an object";
}

/** Check a user-given shape: an array of positive integers. */
export function checkShape(op: string, what: string, shape: unknown): number[] {
  if (!Array.isArray(shape))
    throw new FlatgradError(`${op}: ${what} must be an array of positive integers like [8, 30], got ${fmtValue(shape)}`, undefined, "FG160");
  for (const [i, d] of shape.entries()) {
    if (typeof d !== "number" || !Number.isInteger(d) || d < 1 || d > 2 ** 31 - 1)
      throw new FlatgradError(
        `${op}: ${what} ${fmtValue(shape)} has an invalid dimension ${fmtValue(d)} at axis ${i}: dimensions are positive integers`,
        undefined,
        "FG160",
      );
  }
  return [...shape] as number[];
}

/** NumPy broadcasting of two shapes; throws naming the op, both shapes and the axis that disagrees. */
export function broadcastShapes(op: string, a: Shape, b: Shape, names = ["a", "b"], code: ErrorCode = "FG140"): number[] {
  const r = Math.max(a.length, b.length);
  const out = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1)
      throw new FlatgradError(
        `${op}: ${names[0]} is ${fmtShape(a)} but ${names[1]} is ${fmtShape(b)}: sizes ${da} and ${db} at axis ${i - r} cannot be broadcast`,
        undefined,
        code,
      );
    out[i] = da === 1 ? db : da;
  }
  return out;
}

const validAxes = (rank: number) => (rank === 0 ? "a scalar has no axes" : `valid axes for rank ${rank} are ${-rank}..${rank - 1}`);

/** Normalise one axis (negative counts from the end) of operand `what` shaped `shape`. */
export function normAxis(op: string, axis: unknown, rank: number, shape: Shape, what = "x"): number {
  if (typeof axis !== "number" || !Number.isInteger(axis))
    throw new FlatgradError(`${op}: ${what} is ${fmtShape(shape)} but axis ${fmtValue(axis)} is not an integer (${validAxes(rank)})`, undefined, "FG150");
  if (axis < -rank || axis >= rank)
    throw new FlatgradError(`${op}: ${what} is ${fmtShape(shape)} but axis ${axis} is out of range: ${validAxes(rank)}`, undefined, "FG150");
  return axis < 0 ? axis + rank : axis;
}

/** Normalise a list of axes (undefined = all axes), sorted and checked for duplicates. */
export function normAxes(op: string, axes: unknown, shape: Shape, what = "x"): number[] {
  const rank = shape.length;
  if (axes === undefined || axes === null) return shape.map((_, i) => i);
  const list = typeof axes === "number" ? [axes] : axes;
  if (!Array.isArray(list))
    throw new FlatgradError(`${op}: ${what} is ${fmtShape(shape)} but axes ${fmtValue(axes)} are not a number or an array of numbers`, undefined, "FG150");
  const out = list.map((a) => normAxis(op, a, rank, shape, what));
  const dup = out.find((a, i) => out.indexOf(a) !== i);
  if (dup !== undefined)
    throw new FlatgradError(
      `${op}: ${what} is ${fmtShape(shape)} but axes ${fmtValue(list)} name axis ${dup} more than once (${list.filter((_, i) => out[i] === dup).join(" and ")})`,
      undefined,
      "FG150",
    );
  return [...out].sort((x, y) => x - y);
}
