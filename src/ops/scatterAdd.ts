import { FlatgradError, fmtShape } from "../ir/shape.js";
import { affine, read } from "../lower/view.js";
import { intArg, liftIndices } from "./indices.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

/**
 * src [...ids, dim], ids int32 [...] → [rows, dim]: out[r] = Σ over the positions i with ids[i] = r
 * of src[i] (a scatter-add, the adjoint of embedding's gather: repeated ids add their rows).
 */
export const scatterAdd: Primitive<(b: Builder, src: TensorLike, ids: TensorLike, rows: number) => Node, { rows: number }> = {
  kind: "primitive",
  doc: "rows [rows, dim] summing src's rows by int32 ids (the adjoint of embedding)",
  intOperands: ["ids"],
  call: (b, src, ids, rows) => {
    const x = b.lift(src, "scatterAdd", "src");
    const i = liftIndices(b, ids, "scatterAdd", "ids");
    return b.apply("scatterAdd", [x, i], { rows: intArg("scatterAdd", "rows", rows, 1) });
  },
  dtype: ([src, ids]) => {
    if (ids !== "int32" || src === "int32") throw new Error(`internal: scatterAdd of ${src} rows by ${ids} ids`);
    return src!;
  },
  shape: ([src, ids], { rows }) => {
    if (src!.length !== ids!.length + 1 || ids!.some((d, i) => d !== src![i]))
      throw new FlatgradError(`scatterAdd: src is ${fmtShape(src!)} but ids is ${fmtShape(ids!)}: src must be shaped [...ids, dim]`, undefined, "FG175");
    return [rows, src![src!.length - 1]!];
  },
  indexRange: (_ins, { rows }) => [undefined, { low: 0, high: rows }],
  eval: ([src, ids], [ss], { rows }) => {
    const dim = ss![ss!.length - 1]!;
    const res = new Float64Array(rows * dim);
    ids!.forEach((id, i) => {
      for (let d = 0; d < dim; d++) res[id * dim + d] = res[id * dim + d]! + src![i * dim + d]!;
    });
    return res;
  },
  // scatterAdd is linear in src, and its adjoint is the gather: dsrc = embedding(ids, dy)
  vjp: ({ inputs: [, ids], dy }, b) => [b.embedding(ids!, dy), null],
  math: ([src, ids]) => `scatterAdd(${src} by ${ids})`,
  torch: ([src, ids], { rows }, { out, dtype }) => `torch.zeros(${rows}, ${out[1]}, dtype=${dtype}).index_add(0, ${ids}.reshape(-1), ${src}.reshape(-1, ${out[1]}))`,
  lower: {
    kind: "kernel",
    emit: (w, out, [src, ids], { rows }) => {
      const s = ids!.shape;
      const dim = src!.shape[src!.shape.length - 1]!;
      const vars = s.map((_, i) => w.local(`i${i}`));
      const [r, row, d] = [w.local("r"), w.local("row"), w.local("d")];
      w.loop(r, rows, () => w.loop(d, dim, () => w.line(`${out.base}[${affine(out.offset, [r, d], out.strides)}] = 0;`)));
      const nest = (k: number): void => {
        if (k === s.length) {
          w.line(`const ${row} = ${read(ids!, vars)};`);
          w.loop(d, dim, () => {
            const o = `${out.base}[${affine(out.offset, [row, d], out.strides)}]`;
            w.line(`${o} = ${o}! + ${read(src!, [...vars, d])};`);
          });
          return;
        }
        w.loop(vars[k]!, s[k]!, () => nest(k + 1));
      };
      nest(0);
    },
  },
};
