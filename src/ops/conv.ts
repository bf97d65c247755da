/**
 * conv(x [N, C, ...S], W [O, C/G, ...K], { stride, dilation, groups }): the convolution primitive
 * (cross-correlation, as `F.conv2d`/`F.conv1d` with no padding: `convolve` in conv2d.ts pads x
 * first and adds the bias after, so a fused `Z = X ⋆ W + b` then relu is one kernel).
 *   forward     Z = X ⋆ W                  Z[n, o, p] = Σ_{c, k} X[n, g·Cg + c, p·s + k·d] · W[o, c, k]
 *   derivative  dX = conv_transpose(dZ, W)  (convInputGrad.ts), dW = dZ ⋆ X (convWeightGrad.ts)
 * Lowered to JavaScript loops (src/lower/convLoops.ts) and, for float32 models, to an implicit-GEMM
 * WebAssembly SIMD kernel (src/wasm/conv.ts): no im2col buffer.
 */
import { size } from "../ir/shape.js";
import { emitConvForward } from "../lower/convLoops.js";
import { planConv } from "../wasm/conv.js";
import { convGeom, convOutShape, forEachProduct, torchConvArgs, type ConvAttrs } from "./convGeom.js";
import { sameDtype } from "./family.js";
import { windowSource } from "./window.js";
import type { Builder, Node, Primitive, TensorLike } from "./types.js";

export const conv: Primitive<(b: Builder, x: TensorLike, W: TensorLike, attrs: ConvAttrs) => Node, ConvAttrs> = {
  kind: "primitive",
  doc: "convolution (cross-correlation) of x [N, C, ...] with W [O, C/groups, ...], no padding: the primitive under conv1d/conv2d",
  call: (b, x, W, attrs) => b.apply("conv", [b.lift(x, "conv", "x"), b.lift(W, "conv", "W")], { stride: [...attrs.stride], dilation: [...attrs.dilation], groups: attrs.groups }),
  dtype: sameDtype("conv", ["x", "W"]),
  shape: ([x, w], attrs) => convOutShape(convGeom("conv", x!, w!, attrs)),
  eval: ([x, w], [xs, ws], attrs, out) => {
    const z = new Float64Array(out.reduce((a, d) => a * d, 1));
    forEachProduct(convGeom("conv", xs!, ws!, attrs), (zi, xi, wi) => (z[zi] = z[zi]! + x![xi]! * w![wi]!));
    return z;
  },
  // dX = conv_transpose(dZ, W), dW = dZ ⋆ X
  vjp: ({ inputs: [x, W], dy, attrs }, b) => [
    b.apply("convInputGrad", [dy, W!], { ...attrs, shape: [...x!.shape] }),
    b.apply("convWeightGrad", [dy, x!], { ...attrs, shape: [...W!.shape] }),
  ],
  math: ([x, w], { stride, dilation, groups }) =>
    `${x} ⋆ ${w}${stride.some((s) => s !== 1) ? ` (stride ${stride.join("×")})` : ""}${dilation.some((d) => d !== 1) ? ` (dilation ${dilation.join("×")})` : ""}${groups > 1 ? ` (${groups} groups)` : ""}`,
  torch: ([x, w], attrs, { ins: [xs] }) => `torch.nn.functional.conv${xs!.length - 2}d(${x}, ${w}, ${torchConvArgs(attrs)})`,
  onnx: (o, [x, w], attrs, { ins: [xs, ws], out }) => {
    const { stride, dilation, groups } = attrs;
    if (o.floatType === 1) return o.node("Conv", [x!, w!], { kernel_shape: { ints: ws!.slice(2) }, strides: { ints: stride }, dilations: { ints: dilation }, group: { i: groups }, pads: { ints: stride.flatMap(() => [0, 0]) } });
    // onnxruntime has no double Conv: the windows gathered by their flat offsets (as window's form), then one MatMul per group
    const G = convGeom("conv", xs!, ws!, attrs);
    const [S, OS, Ks] = [xs!.slice(2), out.slice(2), ws!.slice(2)];
    const offsets = windowSource(S, [...OS, ...Ks], { kernel: Ks, stride, dilation });
    const [P, Kk] = [size(OS), size(Ks)];
    const cols = o.node("Gather", [o.node("Reshape", [x!, o.ints([G.N, G.C, size(S)])]), o.ints(Array.from({ length: P * Kk }, (_, i) => offsets(i)), [P, Kk])], { axis: { i: 2 } }); // [N, C, P, Kk]
    const rows = o.node("Reshape", [o.node("Transpose", [o.node("Reshape", [cols, o.ints([G.N, G.G, G.Cg, P, Kk])])], { perm: { ints: [0, 1, 3, 2, 4] } }), o.ints([G.N, G.G, P, G.Cg * Kk])]);
    const wt = o.node("Transpose", [o.node("Reshape", [w!, o.ints([G.G, G.Og, G.Cg * Kk])])], { perm: { ints: [0, 2, 1] } }); // [G, Cg·Kk, Og]
    const z = o.node("Transpose", [o.node("MatMul", [rows, wt])], { perm: { ints: [0, 1, 3, 2] } }); // [N, G, Og, P]
    return o.node("Reshape", [z, o.ints(out)]);
  },
  lower: {
    kind: "kernel",
    emit: (w, out, [x, W], attrs, epilogue) => emitConvForward(w, convGeom("conv", x!.shape, W!.shape, attrs), out, x!, W!, epilogue),
    // Z = X ⋆ W + b, A = relu(Z) is one kernel: the tail is applied as each element is stored
    fusesEpilogue: () => true,
    simd: ([x, W], attrs) => planConv("forward", convGeom("conv", x!.shape, W!.shape, attrs), x!, W!),
  },
};

