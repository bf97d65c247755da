import { size } from "../ir/shape.js";
import { affine, read } from "../lower/view.js";
import { intArg, knownOptions, liftIndices } from "./indices.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

export type OneHotAttrs = { numClasses: number; ignoreIndex?: number };

/**
 * labels int32 [...] → [..., numClasses] in the model's dtype: 1 at each label's class, 0
 * elsewhere (F.one_hot, as floats). With `ignoreIndex`, a label equal to it gives a row of zeros
 * (crossEntropy's ignored labels); any other label outside [0, numClasses) is a range error at entry.
 */
export const oneHot: Primitive<(b: Builder, labels: TensorLike, numClasses: number, options?: { ignoreIndex?: number }) => Node, OneHotAttrs> = {
  kind: "primitive",
  doc: "one-hot rows [..., numClasses] from int32 labels (a label equal to ignoreIndex gives zeros)",
  intOperands: ["labels"],
  call: (b, labels, numClasses, options) => {
    const y = liftIndices(b, labels, "oneHot", "labels");
    const o = knownOptions("oneHot", options, ["ignoreIndex"]);
    const attrs: OneHotAttrs = { numClasses: intArg("oneHot", "numClasses", numClasses, 1) };
    if (o.ignoreIndex !== undefined) attrs.ignoreIndex = intArg("oneHot", "ignoreIndex", o.ignoreIndex);
    return b.apply("oneHot", [y], attrs);
  },
  dtype: (_ins, _attrs, float) => float,
  shape: ([s], { numClasses }) => [...s!, numClasses],
  indexRange: (_ins, { numClasses, ignoreIndex }) => [{ low: 0, high: numClasses, ...(ignoreIndex !== undefined && { ignore: ignoreIndex }) }],
  eval: ([y], _ins, { numClasses: C, ignoreIndex }, out) => {
    const res = new Float64Array(size(out));
    y!.forEach((l, i) => {
      if (l !== ignoreIndex && l >= 0 && l < C) res[i * C + l] = 1;
    });
    return res;
  },
  // labels are integers: no gradient
  vjp: () => [null],
  math: ([y], { numClasses, ignoreIndex }) => `onehot${numClasses}(${y}${ignoreIndex !== undefined ? `, ignoring ${ignoreIndex}` : ""})`,
  torch: ([y], { numClasses, ignoreIndex }, { dtype }) =>
    `((${y}.unsqueeze(-1) == torch.arange(${numClasses}))${ignoreIndex === undefined ? "" : ` & (${y}.unsqueeze(-1) != ${ignoreIndex})`}).to(${dtype})`,
  onnx: (o, [y], { numClasses, ignoreIndex }) => {
    const col = o.node("Unsqueeze", [y!, o.ints([-1])]);
    const hit = o.node("Equal", [col, o.ints(Array.from({ length: numClasses }, (_, i) => i), [numClasses], 6)]);
    const kept = ignoreIndex === undefined ? hit : o.node("And", [hit, o.node("Not", [o.node("Equal", [col, o.ints([ignoreIndex], [1], 6)])])]);
    return o.node("Cast", [kept], { to: { i: o.floatType } });
  },
  lower: {
    kind: "kernel",
    emit: (w, out, [y], { numClasses, ignoreIndex }) => {
      const s = y!.shape;
      const vars = s.map((_, i) => w.local(`i${i}`));
      const [label, c] = [w.local("label"), w.local("c")];
      // an ignore index that is also a class must be tested; one outside [0, C) never equals c
      const skip = ignoreIndex !== undefined && ignoreIndex >= 0 && ignoreIndex < numClasses ? ` && ${label} !== ${ignoreIndex}` : "";
      const nest = (d: number): void => {
        if (d === s.length) {
          w.line(`const ${label} = ${read(y!, vars)};`);
          w.loop(c, numClasses, () => w.line(`${out.base}[${affine(out.offset, [...vars, c], out.strides)}] = ${label} === ${c}${skip} ? 1 : 0;`));
          return;
        }
        w.loop(vars[d]!, s[d]!, () => nest(d + 1));
      };
      nest(0);
    },
  },
};
