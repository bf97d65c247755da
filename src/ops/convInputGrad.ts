/**
 * convInputGrad(dZ [N, O, ...OS], W [O, C/G, ...K], { shape, stride, dilation, groups }): the
 * gradient of `conv` for x, shaped `shape` (x's):
 *   dX = conv_transpose(dZ, W)    dX[n, g·Cg + c, p·s + k·d] += W[o, c, k] · dZ[n, o, p]
 * each output gradient sent back, through the kernel, to every input its window read (positions no
 * window read get 0). Linear in both operands: its own derivative is conv(dDX, W) for dZ and
 * dZ ⋆ dDX (convWeightGrad) for W. JavaScript loops (a scatter) and, for float32, a WebAssembly
 * SIMD scatter along the rows (src/wasm/conv.ts).
 */
import { FlatgradError, fmtShape, sameShape, size } from "../ir/shape.js";
import { emitConvInputGrad } from "../lower/convLoops.js";
import { planConv } from "../wasm/conv.js";
import { convGeom, convOutShape, forEachProduct, torchConvArgs, type ConvGradAttrs } from "./convGeom.js";
import { sameDtype } from "./family.js";
import type { Builder, Node, Primitive } from "./types.js";

const geom = (dz: readonly number[], w: readonly number[], attrs: ConvGradAttrs) => {
  const G = convGeom("convInputGrad", attrs.shape, w, attrs);
  if (!sameShape(convOutShape(G), dz)) throw new FlatgradError(`convInputGrad: dZ is ${fmtShape(dz)} but the convolution of x ${fmtShape(attrs.shape)} with W ${fmtShape(w)} is ${fmtShape(convOutShape(G))}`, undefined, "FG180");
  return G;
};

export const convInputGrad: Primitive<(b: Builder, dZ: Node, W: Node, attrs: ConvGradAttrs) => Node, ConvGradAttrs> = {
  kind: "primitive",
  doc: "conv's gradient for x: conv_transpose(dZ, W), shaped like x",
  call: (b, dZ, W, attrs) => b.apply("convInputGrad", [b.lift(dZ, "convInputGrad", "dZ"), b.lift(W, "convInputGrad", "W")], { ...attrs }),
  dtype: sameDtype("convInputGrad", ["dZ", "W"]),
  shape: ([dz, w], attrs) => (geom(dz!, w!, attrs), [...attrs.shape]),
  eval: ([dz, w], [dzs, ws], attrs) => {
    const dx = new Float64Array(size(attrs.shape));
    forEachProduct(geom(dzs!, ws!, attrs), (zi, xi, wi) => (dx[xi] = dx[xi]! + w![wi]! * dz![zi]!));
    return dx;
  },
  // linear in dZ and in W: ⟨G, conv_transpose(dZ, W)⟩ = ⟨conv(G, W), dZ⟩ = ⟨dZ ⋆ G, W⟩
  vjp: ({ inputs: [dz, W], dy, attrs }, b) => {
    const { shape: _x, ...conv } = attrs;
    return [b.apply("conv", [dy, W!], conv), b.apply("convWeightGrad", [dz!, dy], { ...conv, shape: [...W!.shape] })];
  },
  math: ([dz, w]) => `conv_transpose(${dz}, ${w})`,
  torch: ([dz, w], attrs) => `torch.nn.grad.conv${attrs.shape.length - 2}d_input((${attrs.shape.join(", ")},), ${w}, ${dz}, ${torchConvArgs(attrs)})`,
  lower: {
    kind: "kernel",
    emit: (w, out, [dz, W], attrs) => emitConvInputGrad(w, geom(dz!.shape, W!.shape, attrs), out, dz!, W!),
    simd: ([dz, W], attrs) => planConv("input-grad", geom(dz!.shape, W!.shape, attrs), dz!, W!),
  },
};
