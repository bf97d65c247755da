/** pad(x, [[before, after], ...], value): x with `value` around it, every axis listed (NumPy's constant pad). */
import { FlatgradError, fmtShape, fmtValue, rowMajorStrides, size } from "../ir/shape.js";
import { affine, read } from "../lower/view.js";
import { sameDtype } from "./family.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

type PadAttrs = { pads: [number, number][]; value: number };

function checkPads(s: readonly number[], pads: unknown): [number, number][] {
  const ok =
    Array.isArray(pads) &&
    pads.length === s.length &&
    pads.every((p) => Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === "number" && Number.isInteger(v) && v >= 0));
  if (!ok) throw new FlatgradError(`pad: x is ${fmtShape(s)} but pads ${fmtValue(pads)} is not one [before, after] pair of integers ≥ 0 per axis (${s.length})`, undefined, "FG155");
  return (pads as [number, number][]).map(([a, b]) => [a, b]);
}

export const pad: Primitive<(b: Builder, x: TensorLike, pads: [number, number][], value?: number) => Node, PadAttrs> = {
  kind: "primitive",
  doc: "x surrounded by a constant: [before, after] for every axis",
  call: (b, x, pads, value) => {
    const xn = b.lift(x, "pad", "x");
    return b.apply("pad", [xn], { pads: checkPads(xn.shape, pads), value: b.number("pad", "value", value ?? 0) });
  },
  dtype: sameDtype("pad", ["x"]),
  shape: ([s], { pads }) => checkPads(s!, pads).map(([a, b], i) => a + s![i]! + b),
  eval: ([x], [s], { pads, value }, out) => {
    const res = new Float64Array(size(out)).fill(value);
    const is = rowMajorStrides(s!);
    const os = rowMajorStrides(out);
    for (let i = 0; i < x!.length; i++) res[s!.reduce((o, n, d) => o + ((Math.floor(i / is[d]!) % n) + pads[d]![0]) * os[d]!, 0)] = x![i]!;
    return res;
  },
  // the padding is constant: dx is dy with the padding cut away
  vjp: ({ inputs: [x], dy, attrs: { pads } }, b) => [pads.reduce((d, [before], axis) => (before || d.shape[axis] !== x!.shape[axis] ? b.slice(d, axis, before, before + x!.shape[axis]!) : d), dy)],
  math: ([x], { pads, value }) => `pad(${x}, ${pads.map(([a, b]) => `${a}|${b}`).join(",")}${value ? `, ${value}` : ""})`,
  // F.pad lists the [before, after] pairs from the last axis backwards
  torch: ([x], { pads, value }) => `torch.nn.functional.pad(${x}, (${[...pads].reverse().flat().join(", ")}), value=${Number.isFinite(value) ? value : `float("${value > 0 ? "inf" : "-inf"}")`})`,
  onnx: (o, [x], { pads, value }) => o.node("Pad", [x!, o.ints([...pads.map((p) => p[0]), ...pads.map((p) => p[1])]), o.scalar(value)], { mode: { s: "constant" } }),
  lower: {
    kind: "kernel",
    emit: (w, out, [x], { pads, value }) => {
      const vars = out.shape.map((_, d) => w.local(`i${d}`));
      // x's element at out's index minus `before` on every axis, where that lies inside x
      const inside = pads.flatMap(([before], d) => [...(before ? [`${vars[d]} >= ${before}`] : []), ...(before + x!.shape[d]! < out.shape[d]! ? [`${vars[d]} < ${before + x!.shape[d]!}`] : [])]);
      const shifted = { ...x!, offset: x!.offset - pads.reduce((o, [before], d) => o + before * x!.strides[d]!, 0) };
      const v = Object.is(value, -0) ? "-0" : String(value);
      const nest = (d: number): void =>
        d < vars.length
          ? w.loop(vars[d]!, out.shape[d]!, () => nest(d + 1))
          : w.line(`${out.base}[${affine(out.offset, vars, out.strides)}] = ${inside.length ? `${inside.join(" && ")} ? ${read(shifted, vars)} : ${v}` : read(shifted, vars)};`);
      nest(0);
    },
  },
};
