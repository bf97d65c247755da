/**
 * Index maps. A view is a buffer read through strides and an offset: broadcasting (stride 0),
 * transposition (permuted strides) and contiguous reshapes are views, never copies.
 */
import { rowMajorStrides, type Shape } from "../ir/shape.js";

export interface View {
  /** The identifier of the typed array in the generated code. */
  readonly base: string;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

export const contiguous = (base: string, shape: Shape, offset = 0): View => ({ base, shape: [...shape], strides: rowMajorStrides(shape), offset });

/** Whether a view reads its elements in row-major order without gaps (size-1 axes do not matter). */
export function isContiguous(v: View): boolean {
  const rm = rowMajorStrides(v.shape);
  return v.shape.every((d, i) => d === 1 || v.strides[i] === rm[i]);
}

/** `offset + Σ vars[i]·strides[i]` with the constants folded, e.g. `i0 * 30 + i1`; a var may be a literal or `i + 1`. */
export function affine(offset: number, vars: readonly string[], strides: readonly number[]): string {
  const terms: string[] = [];
  vars.forEach((v, i) => {
    const s = strides[i]!;
    if (s === 0) return;
    if (/^\d+$/.test(v)) offset += Number(v) * s;
    else if (s === 1) terms.push(v);
    else terms.push(/^[\w$]+$/.test(v) ? `${v} * ${s}` : `(${v}) * ${s}`);
  });
  if (offset !== 0 || terms.length === 0) terms.push(String(offset));
  return terms.join(" + ");
}

/** The element of `v` at loop indices `vars` (one per axis of the view), as an assignment target. */
export const at = (v: View, vars: readonly string[]): string => `${v.base}[${affine(v.offset, vars, v.strides)}]`;

/** The element of `v` at `vars`, read. The `!` keeps generated code valid under noUncheckedIndexedAccess. */
export const read = (v: View, vars: readonly string[]): string => `${at(v, vars)}!`;

/** A fused elementwise epilogue: the value to store for accumulator `acc` at output indices `vars`. */
export type Epilogue = (acc: string, vars: readonly string[]) => string;

/** What kernels write loops with (backed by ts-morph's CodeBlockWriter). */
export interface KernelWriter {
  line(text: string): void;
  block(head: string, body: () => void): void;
  /** A loop `for (let name = 0; name < extent; name++) { body }`; `name` comes from `local`. */
  loop(name: string, extent: number, body: () => void): void;
  /** A kernel-local identifier (loop index, accumulator, temporary): `preferred` unless a buffer took that name. */
  local(preferred: string): string;
  /** The readable build (`--readable`): kernel ops write their plainest loops, a matmul as a textbook triple loop. */
  readonly readable?: boolean;
  /** The model's generator for training-time randomness (dropout's masks): a function returning U[0, 1), in `createModel`'s scope. */
  readonly random?: string;
}
