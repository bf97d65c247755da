import { sameDtype } from "./family.js";
import { FlatgradError, fmtShape, fmtValue, rowMajorStrides, size } from "../ir/shape.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

function checkPerm(perm: unknown, rank: number, shape: readonly number[]): number[] {
  const err = (why: string) =>
    new FlatgradError(`transpose: x is ${fmtShape(shape)} but perm ${fmtValue(perm)} is not a permutation of its ${rank} axes: ${why}`, undefined, "FG151");
  if (!Array.isArray(perm)) throw err(`perm must be an array of axes`);
  if (perm.length !== rank) throw err(`it has ${perm.length} entr${perm.length === 1 ? "y" : "ies"}`);
  const badAxis = perm.find((p) => typeof p !== "number" || !Number.isInteger(p) || p < -rank || p >= rank);
  if (badAxis !== undefined) throw err(`axis ${fmtValue(badAxis)} is not one of ${rank === 0 ? "its (no) axes" : `${-rank}..${rank - 1}`}`);
  const norm = (perm as number[]).map((p) => (p < 0 ? p + rank : p));
  const dup = norm.find((p, i) => norm.indexOf(p) !== i);
  if (dup !== undefined) throw err(`axis ${dup} appears more than once and axis ${norm.map((_, i) => i).find((i) => !norm.includes(i))} is missing`);
  return norm;
}

export const transpose: Primitive<(b: Builder, x: TensorLike, perm?: number[]) => Node, { perm: number[] }> = {
  kind: "primitive",
  doc: "permute the axes (default: reverse them)",
  call: (b, x, perm) => {
    const xn = b.lift(x, "transpose", "x");
    const r = xn.shape.length;
    return b.apply("transpose", [xn], { perm: checkPerm(perm ?? xn.shape.map((_d: number, i: number) => r - 1 - i), r, xn.shape) });
  },
  dtype: sameDtype("transpose", ["x"]),
  shape: ([s], attrs) => checkPerm(attrs.perm, s!.length, s!).map((p) => s![p]!),
  eval: ([x], [s], { perm }, out) => {
    const inStrides = rowMajorStrides(s!);
    const outStrides = rowMajorStrides(out);
    const res = new Float64Array(size(out));
    for (let o = 0; o < res.length; o++) {
      let src = 0;
      for (let d = 0; d < out.length; d++) src += (Math.floor(o / outStrides[d]!) % out[d]!) * inStrides[perm[d]!]!;
      res[o] = x![src]!;
    }
    return res;
  },
  // d xᵀ = (dy)ᵀ with the inverse permutation
  vjp: ({ dy, attrs: { perm } }, b) => [b.transpose(dy, perm.map((_, i) => perm.indexOf(i)))],
  math: ([x], { perm }) => {
    const swapsLast2 = perm.length >= 2 && perm.every((p, i) => (i < perm.length - 2 ? p === i : p === perm.length * 2 - 3 - i));
    return swapsLast2 ? `${x}ᵀ` : `transpose(${x}, [${perm.join(",")}])`;
  },
  torch: ([x], { perm }) => `${x}.permute(${perm.join(", ")})`,
  onnx: (o, [x], { perm }) => o.node("Transpose", [x!], { perm: { ints: perm } }),
  lower: {
    kind: "view",
    view: (v, { perm }) => ({ ...v, shape: perm.map((p) => v.shape[p]!), strides: perm.map((p) => v.strides[p]!) }),
  },
};
