/**
 * convWeightGrad(dZ [N, O, ...OS], x [N, C, ...S], { shape, stride, dilation, groups }): the
 * gradient of `conv` for W, shaped `shape` (W's):
 *   dW = dZ ⋆ X    dW[o, c, k] = Σ_{n, p} dZ[n, o, p] · X[n, g·Cg + c, p·s + k·d]
 * the correlation of each output channel's gradient with the inputs its windows read, summed over
 * the batch. Linear in both operands: its own derivative is conv(X, dDW) for dZ and
 * conv_transpose(dZ, dDW) (convInputGrad) for X. JavaScript loops and, for float32, a WebAssembly
 * SIMD kernel with f32x4 along the output rows (src/wasm/conv.ts).
 */
import { FlatgradError, fmtShape, sameShape, size } from "../ir/shape.js";
import { emitConvWeightGrad } from "../lower/convLoops.js";
import { planConv } from "../wasm/conv.js";
import { convGeom, convOutShape, forEachProduct, torchConvArgs, type ConvGradAttrs } from "./convGeom.js";
import { sameDtype } from "./family.js";
import type { Builder, Node, Primitive } from "./types.js";

const geom = (dz: readonly number[], x: readonly number[], attrs: ConvGradAttrs) => {
  const G = convGeom("convWeightGrad", x, attrs.shape, attrs);
  if (!sameShape(convOutShape(G), dz)) throw new FlatgradError(`convWeightGrad: dZ is ${fmtShape(dz)} but the convolution of x ${fmtShape(x)} with W ${fmtShape(attrs.shape)} is ${fmtShape(convOutShape(G))}`, undefined, "FG180");
  return G;
};

export const convWeightGrad: Primitive<(b: Builder, dZ: Node, x: Node, attrs: ConvGradAttrs) => Node, ConvGradAttrs> = {
  kind: "primitive",
  doc: "conv's gradient for W: dZ ⋆ x summed over the batch, shaped like W",
  call: (b, dZ, x, attrs) => b.apply("convWeightGrad", [b.lift(dZ, "convWeightGrad", "dZ"), b.lift(x, "convWeightGrad", "x")], { ...attrs }),
  dtype: sameDtype("convWeightGrad", ["dZ", "x"]),
  shape: ([dz, x], attrs) => (geom(dz!, x!, attrs), [...attrs.shape]),
  eval: ([dz, x], [dzs, xs], attrs) => {
    const dw = new Float64Array(size(attrs.shape));
    forEachProduct(geom(dzs!, xs!, attrs), (zi, xi, wi) => (dw[wi] = dw[wi]! + dz![zi]! * x![xi]!));
    return dw;
  },
  // linear in dZ and in x: ⟨G, dZ ⋆ X⟩ = ⟨conv(X, G), dZ⟩ = ⟨conv_transpose(dZ, G), X⟩
  vjp: ({ inputs: [dz, x], dy, attrs }, b) => {
    const { shape: _w, ...conv } = attrs;
    return [b.apply("conv", [x!, dy], conv), b.apply("convInputGrad", [dz!, dy], { ...conv, shape: [...x!.shape] })];
  },
  math: ([dz, x]) => `${dz} ⋆ ${x}`,
  torch: ([dz, x], attrs) => `torch.nn.grad.conv${attrs.shape.length - 2}d_weight(${x}, (${attrs.shape.join(", ")},), ${dz}, ${torchConvArgs(attrs)})`,
  lower: {
    kind: "kernel",
    emit: (w, out, [dz, x], attrs) => emitConvWeightGrad(w, geom(dz!.shape, x!.shape, attrs), out, dz!, x!),
    simd: ([dz, x], attrs) => planConv("weight-grad", geom(dz!.shape, x!.shape, attrs), dz!, x!),
  },
};
