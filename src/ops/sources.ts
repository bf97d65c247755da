/** Sources: the model's inputs, parameters and constants. They exist before any kernel runs (buffers: buffer.ts). */
import { FlatgradError, checkShape, fmtShape, fmtValue, size } from "../ir/shape.js";
import { checkName } from "../ir/names.js";
import type { Builder, Composite, DType, FloatDType, Node, Primitive, SourceKind, TensorLike } from "./types.js";

/** The attributes of a named source (input, param). */
export type NamedSource = { name: string; shape: number[] };

export const source = (what: SourceKind) => ({
  kind: "primitive" as const,
  shape: (_ins: unknown, attrs: { shape: number[] }) => [...attrs.shape],
  eval: (): Float64Array => {
    throw new Error(`${what}: the interpreter binds ${what}s by name`);
  },
  // a leaf: nothing to pass the gradient on to
  vjp: () => [],
  math: (_args: string[], attrs: { name?: string }) => String(attrs.name),
  lower: { kind: "source" as const, source: what },
});

export interface InputOptions {
  /** "int32" for class labels or token ids; default: the model's dtype. */
  dtype?: DType;
}

/** Check `g.input`'s options; the attributes they add (an int32 input carries `dtype: "int32"`). */
function checkInputOptions(name: string, opts: unknown, float: FloatDType): { dtype?: "int32" } {
  const err = (msg: string) => new FlatgradError(`input "${name}": ${msg}`, undefined, "FG166");
  if (opts === undefined) return {};
  if (typeof opts !== "object" || opts === null || Array.isArray(opts)) throw err(`options must be an object like { dtype: "int32" }, got ${fmtValue(opts)}`);
  for (const k of Object.keys(opts)) if (k !== "dtype") throw err(`unknown option "${k}" (known: dtype)`);
  const dtype = (opts as { dtype?: unknown }).dtype;
  if (dtype === undefined || dtype === float) return {};
  if (dtype === "int32") return { dtype };
  throw err(`dtype must be "int32" or the model's dtype "${float}", got ${fmtValue(dtype)}`);
}

export const input: Primitive<(b: Builder, name: string, shape: number[], options?: InputOptions) => Node, NamedSource & { dtype?: "int32" }> = {
  ...source("input"),
  doc: "a named input of fixed shape (data, or int32 labels and token ids); never differentiated",
  dtype: (_ins, attrs, float) => attrs.dtype ?? float,
  call: (b, name, shape, options) => {
    checkName("input", name);
    const s = checkShape("input", `shape of "${name}"`, shape);
    return b.declare("input", name, b.apply("input", [], { name, shape: s, ...checkInputOptions(name, options, b.dtype) }));
  },
};

export const INITS = ["zeros", "ones", "xavier", "he", "normal", "uniform"] as const;
export type Init = (typeof INITS)[number];

/**
 * The fans of an init, as PyTorch computes them (`torch.nn.init._calculate_fan_in_and_fan_out`):
 * with two or more axes, fan_in = prod(shape[1:]) and fan_out = shape[0]·prod(shape[2:]), so a
 * `[out, in]` weight has fan_in = in, fan_out = out, and a conv weight `[O, C, kh, kw]` has
 * fan_in = C·kh·kw, fan_out = O·kh·kw. One axis: fan_in = its length, fan_out = 1; none: 1, 1.
 */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0]!, fanOut: 1 };
  const receptive = size(shape.slice(2));
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}
export interface ParamOptions {
  init?: Init;
  /** std of `normal` (default 0.01). */
  std?: number;
  /** bounds of `uniform` (default ±0.05). */
  low?: number;
  high?: number;
}

/** Check a param's (or a buffer's) init options; `dflt` is the init when none is given. */
export function checkInit(kind: "param" | "buffer", name: string, shape: number[], opts: unknown, dflt: Init): Required<Pick<ParamOptions, "init">> & ParamOptions {
  const err = (msg: string) => new FlatgradError(`${kind} "${name}": ${msg}`, undefined, "FG164");
  if (opts !== undefined && (typeof opts !== "object" || opts === null || Array.isArray(opts)))
    throw err(`options must be an object like { init: "zeros" }, got ${fmtValue(opts)}`);
  const o = (opts ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!["init", "std", "low", "high"].includes(k)) throw err(`unknown option "${k}" (known: init, std, low, high)`);
  const init = o.init ?? dflt;
  if (!INITS.includes(init as Init)) throw err(`unknown init ${fmtValue(init)} (known: ${INITS.join(", ")})`);
  const num = (k: string) => {
    if (o[k] !== undefined && (typeof o[k] !== "number" || !Number.isFinite(o[k]))) throw err(`${k} must be a finite number, got ${fmtValue(o[k])}`);
    return o[k] as number | undefined;
  };
  const std = num("std");
  const low = num("low");
  const high = num("high");
  if (std !== undefined && (init !== "normal" || std < 0)) throw err(`std applies to init "normal" and must be ≥ 0`);
  if ((low !== undefined || high !== undefined) && init !== "uniform") throw err(`low and high apply to init "uniform"`);
  if (init === "uniform" && (low ?? -0.05) > (high ?? 0.05)) throw err(`low must not exceed high`);
  return { init: init as Init, ...(std !== undefined && { std }), ...(low !== undefined && { low }), ...(high !== undefined && { high }) };
}

export const param: Primitive<(b: Builder, name: string, shape: number[], options?: ParamOptions) => Node, NamedSource> = {
  ...source("param"),
  dtype: (_ins, _attrs, float) => float,
  doc: "a named trainable parameter of fixed shape",
  call: (b, name, shape, options) => {
    checkName("param", name);
    const s = checkShape("param", `shape of "${name}"`, shape);
    return b.declare("param", name, b.apply("param", [], { name, shape: s }), { ...checkInit("param", name, s, options, s.length >= 2 ? "xavier" : "zeros") });
  },
};

export const constant: Primitive<(b: Builder, value: number | number[], shape?: number[]) => Node, { values: number[]; shape: number[] }> = {
  ...source("constant"),
  dtype: (_ins, _attrs, float) => float,
  doc: "a constant tensor (a number fills the shape)",
  call: (b, value, shape) => {
    const values: unknown = typeof value === "number" ? [value] : value;
    if (!Array.isArray(values)) throw new FlatgradError(`constant: the value must be a number or a flat array of numbers, got ${fmtValue(value)}`, undefined, "FG100");
    const bad = values.findIndex((v) => typeof v !== "number");
    if (bad >= 0)
      throw new FlatgradError(`constant: values[${bad}] is ${fmtValue(values[bad])}: the value must be a number or a flat array of numbers`, undefined, "FG100");
    const nonFinite = values.findIndex((v) => !Number.isFinite(v));
    if (nonFinite >= 0)
      throw new FlatgradError(
        typeof value === "number" ? `constant: the value is ${value}: values must be finite numbers` : `constant: values[${nonFinite}] is ${values[nonFinite]} (in ${fmtValue(values).slice(0, 60)}): values must be finite numbers`,
        undefined,
        "FG162",
      );
    if (values.length === 0) throw new FlatgradError(`constant: the value [] is empty: give a number or a non-empty array`, undefined, "FG161");
    const s = shape === undefined ? (typeof value === "number" ? [] : [values.length]) : checkShape("constant", "shape", shape);
    if (values.length !== 1 && values.length !== size(s))
      throw new FlatgradError(`constant: ${values.length} values do not fill shape ${fmtShape(s)} (${size(s)} elements)`, undefined, "FG161");
    return b.apply("constant", [], { values: values.length === 1 ? [values[0]!] : [...values], shape: s });
  },
  eval: (_xs, _ins, { values: v, shape }) => {
    const n = size(shape);
    return v.length === n ? Float64Array.from(v) : new Float64Array(n).fill(v[0]!);
  },
  math: (_args, { values: v, shape }) => (v.length === 1 ? String(v[0]) : `const${fmtShape(shape)}`),
};

export const output: Composite<(b: Builder, name: string, x: TensorLike) => Node> = {
  kind: "composite",
  doc: "name a tensor as a model output (returned by forward)",
  // outputs may be int32 (class predictions, token ids)
  intOperands: true,
  call: (b: Builder, name: string, x: TensorLike): Node => {
    checkName("output", name);
    return b.declare("output", name, b.lift(x, "output", `the tensor for "${name}"`));
  },
};
