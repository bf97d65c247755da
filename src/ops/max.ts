import { broadcastBack, reduce } from "./family.js";

export const max = reduce("max", {
  doc: "maximum over the given axes (all by default)",
  init: -Infinity,
  combine: (acc, v) => Math.max(acc, v),
  lowerInit: "-Infinity",
  lowerCombine: (acc, v) => `Math.max(${acc}, ${v})`,
  torch: "torch.amax",
  onnx: { op: "ReduceMax", axesInput: false },
  symbol: "max",
  // d max(x) = onehot(first argmax)·broadcast(dy): ties send the gradient to the first maximum only
  vjp: ({ inputs: [x], dy, attrs }, b) => [b.mul(broadcastBack(b, dy, x, attrs), b.argmaxMask(x, attrs.axes))],
});
