/**
 * The batch loop of a batched SIMD matmul ([..., m, k]·[..., k, n], src/wasm/matmul.ts): which batch
 * axes fold into m and which adjacent ones merge, and each operand's pointer step per remaining axis.
 */
import type { View } from "../lower/view.js";

/** An operand's strides in elements: per batch axis, then its row and column strides. */
export interface Strides {
  batch: number[];
  row: number;
  col: number;
}
export const stridesOf = (v: View, axes: number): Strides => ({ batch: v.strides.slice(0, axes), row: v.strides[axes]!, col: v.strides[axes + 1]! });

/**
 * The batch loop the kernel runs: batch axes along which B is broadcast and every other operand's rows
 * run on (A, C and the epilogue's leaves: batch stride = m · row stride) are folded into m, last axis
 * first; the remaining adjacent axes are merged where every operand steps alike.
 */
export function batchLoop(batch: number[], m: number, n: number, a: Strides, b: Strides, leaves: Strides[]): { m: number; extents: number[]; a: number[]; b: number[]; c: number[]; leaves: number[][] } {
  const c = { batch: batch.map((_, i) => m * n * batch.slice(i + 1).reduce((x, y) => x * y, 1)), row: n, col: 1 };
  // axes of extent 1 are no loop
  const keep = (st: number[]) => st.filter((_, i) => batch[i] !== 1);
  let ext = keep(batch);
  let ops = [a, c, ...leaves].map((s) => ({ ...s, batch: keep(s.batch) }));
  let bs = keep(b.batch);
  let rows = m;
  while (ext.length && bs[ext.length - 1] === 0 && ops.every((s) => s.batch[ext.length - 1] === rows * s.row)) {
    rows *= ext[ext.length - 1]!;
    ext = ext.slice(0, -1);
    bs = bs.slice(0, -1);
    ops = ops.map((s) => ({ ...s, batch: s.batch.slice(0, -1) }));
  }
  const all = () => [bs, ...ops.map((s) => s.batch)];
  for (let i = ext.length - 2; i >= 0; i--) {
    if (all().every((st) => st[i] === st[i + 1]! * ext[i + 1]!)) {
      ext = [...ext.slice(0, i), ext[i]! * ext[i + 1]!, ...ext.slice(i + 2)];
      bs = [...bs.slice(0, i), bs[i + 1]!, ...bs.slice(i + 2)];
      ops = ops.map((s) => ({ ...s, batch: [...s.batch.slice(0, i), s.batch[i + 1]!, ...s.batch.slice(i + 2)] }));
    }
  }
  return { m: rows, extents: ext, a: ops[0]!.batch, b: bs, c: ops[1]!.batch, leaves: ops.slice(2).map((s) => s.batch) };
}
