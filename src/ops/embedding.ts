import { FlatgradError, fmtShape, size } from "../ir/shape.js";
import { affine, read } from "../lower/view.js";
import { liftIndices } from "./indices.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

/**
 * ids int32 [...], table [num, dim] → [..., dim]: row ids[i] of the table for each id (F.embedding),
 * a gather. Its adjoint is scatterAdd, which adds the gradient rows of repeated ids.
 */
export const embedding: Primitive<(b: Builder, ids: TensorLike, table: TensorLike) => Node> = {
  kind: "primitive",
  doc: "the table's rows at int32 ids: [...ids, dim] (a gather)",
  intOperands: ["ids"],
  call: (b, ids, table) => {
    const i = liftIndices(b, ids, "embedding", "ids");
    const t = b.lift(table, "embedding", "table");
    if (t.shape.length !== 2)
      throw new FlatgradError(`embedding: ids is ${fmtShape(i.shape)} but table is ${fmtShape(t.shape)}: the table must be 2-D, shaped [num, dim]`, undefined, "FG175");
    return b.apply("embedding", [i, t]);
  },
  dtype: ([ids, table]) => {
    if (ids !== "int32" || table === "int32") throw new Error(`internal: embedding of ${ids} ids and a ${table} table`);
    return table!;
  },
  shape: ([ids, table]) => [...ids!, table![1]!],
  indexRange: ([, table]) => [{ low: 0, high: table![0]! }, undefined],
  eval: ([ids, table], [, ts], _attrs, out) => {
    const dim = ts![1]!;
    const res = new Float64Array(size(out));
    ids!.forEach((id, i) => res.set(table!.subarray(id * dim, id * dim + dim), i * dim));
    return res;
  },
  // dtable = scatterAdd(dy, ids): each id's row gets the sum of the gradients of the positions that read it
  vjp: ({ inputs: [ids, table], dy }, b) => [null, b.scatterAdd(dy, ids!, table!.shape[0]!)],
  math: ([ids, table]) => `${table}[${ids}]`,
  torch: ([ids, table]) => `torch.nn.functional.embedding(${ids}, ${table})`,
  onnx: (o, [ids, table]) => o.node("Gather", [table!, ids!], { axis: { i: 0 } }),
  lower: {
    kind: "kernel",
    emit: (w, out, [ids, table]) => {
      const s = ids!.shape;
      const dim = table!.shape[1]!;
      const vars = s.map((_, i) => w.local(`i${i}`));
      const [row, d] = [w.local("row"), w.local("d")];
      const nest = (k: number): void => {
        if (k === s.length) {
          w.line(`const ${row} = ${read(ids!, vars)};`);
          w.loop(d, dim, () => w.line(`${out.base}[${affine(out.offset, [...vars, d], out.strides)}] = ${table!.base}[${affine(table!.offset, [row, d], table!.strides)}]!;`));
          return;
        }
        w.loop(vars[k]!, s[k]!, () => nest(k + 1));
      };
      nest(0);
    },
  },
};
