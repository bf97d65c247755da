/** Shapes are row-major arrays of positive integers; [] is a scalar. */
export type Shape = readonly number[];

/** A user mistake found at build time. `site` is filled in by the builder with the model file position. */
export class FlatgradError extends Error {
  constructor(
    message: string,
    public site?: Site,
    public code = "FG100",
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

export function checkShape(op: string, what: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) throw new FlatgradError(`${op}: ${what} must be an array of positive integers, got ${String(shape)}`);
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isInteger(d) || d < 1 || d > 2 ** 31 - 1)
      throw new FlatgradError(`${op}: ${what} ${JSON.stringify(shape)} has an invalid dimension ${String(d)} (dimensions are positive integers)`);
  }
  return [...shape] as number[];
}

/** NumPy broadcasting of two shapes; throws naming the op, both shapes and the axis that disagrees. */
export function broadcastShapes(op: string, a: Shape, b: Shape, names = ["a", "b"]): number[] {
  const r = Math.max(a.length, b.length);
  const out = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1)
      throw new FlatgradError(
        `${op}: ${names[0]} is ${fmtShape(a)} but ${names[1]} is ${fmtShape(b)}: sizes ${da} and ${db} at axis ${i - r} cannot be broadcast`,
      );
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Normalise one axis (negative counts from the end) for a tensor of rank `rank`. */
export function normAxis(op: string, axis: unknown, rank: number, shape: Shape): number {
  if (typeof axis !== "number" || !Number.isInteger(axis) || axis < -rank || axis >= rank)
    throw new FlatgradError(
      `${op}: axis ${String(axis)} is out of range for a tensor of shape ${fmtShape(shape)} (rank ${rank}; valid axes ${rank === 0 ? "none" : `${-rank}..${rank - 1}`})`,
    );
  return axis < 0 ? axis + rank : axis;
}

/** Normalise a list of axes (undefined = all axes), sorted and checked for duplicates. */
export function normAxes(op: string, axes: unknown, shape: Shape): number[] {
  const rank = shape.length;
  if (axes === undefined || axes === null) return shape.map((_, i) => i);
  const list = typeof axes === "number" ? [axes] : axes;
  if (!Array.isArray(list)) throw new FlatgradError(`${op}: axes must be a number or an array of numbers, got ${String(axes)}`);
  const out = list.map((a) => normAxis(op, a, rank, shape));
  const sorted = [...new Set(out)].sort((x, y) => x - y);
  if (sorted.length !== out.length) throw new FlatgradError(`${op}: axes ${JSON.stringify(list)} repeat an axis for shape ${fmtShape(shape)}`);
  return sorted;
}
