/**
 * Integer operands (class labels, token ids): lifting them, checking the integer arguments that
 * come with them, and the range each op allows, which the generated entry points check before
 * anything runs (src/lower/ranges.ts collects it per input).
 */
import { FlatgradError, fmtShape, fmtValue } from "../ir/shape.js";
import type { Builder, Node, TensorLike } from "./types.js";

/** The values an op accepts for an int32 operand: low ≤ v < high, or v = ignore. */
export interface IndexRange {
  low: number;
  high: number;
  ignore?: number;
}

/** An int32 operand: a float tensor (or a plain number) is FG172, naming the op and the operand. */
export function liftIndices(b: Builder, x: TensorLike, op: string, role: string): Node {
  const n = b.lift(x, op, role);
  if (n.dtype !== "int32")
    throw new FlatgradError(
      `${op}: ${role} is a ${typeof x === "number" ? "number" : `${n.dtype} tensor ${fmtShape(n.shape)}`}, but ${op} takes ${role} as an int32 tensor (declare it with g.input(name, shape, { dtype: "int32" }))`,
      undefined,
      "FG172",
    );
  return n;
}

/** An integer argument of an int32 op (numClasses, ignoreIndex): FG174 otherwise. */
export function intArg(op: string, what: string, v: unknown, min = -(2 ** 31)): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v >= 2 ** 31)
    throw new FlatgradError(`${op}: ${what} must be an integer${min > -(2 ** 31) ? ` ≥ ${min}` : ""} (an int32), got ${fmtValue(v)}`, undefined, "FG174");
  return v;
}

/** Check an options object's keys against the known ones (FG174). */
export function knownOptions(op: string, opts: unknown, known: readonly string[]): Record<string, unknown> {
  if (opts === undefined) return {};
  if (typeof opts !== "object" || opts === null || Array.isArray(opts)) throw new FlatgradError(`${op}: options must be an object like { ${known[0]}: ... }, got ${fmtValue(opts)}`, undefined, "FG174");
  for (const k of Object.keys(opts)) if (!known.includes(k)) throw new FlatgradError(`${op}: unknown option "${k}" (known: ${known.join(", ")})`, undefined, "FG174");
  return opts as Record<string, unknown>;
}

/** "[0, 10)", "[0, 10) or -100": a range as messages print it. */
export const fmtRange = (r: IndexRange): string => `[${r.low}, ${r.high})${r.ignore !== undefined && (r.ignore < r.low || r.ignore >= r.high) ? ` or ${r.ignore}` : ""}`;
