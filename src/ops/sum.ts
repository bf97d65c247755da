import { broadcastBack, reduce } from "./family.js";

export const sum = reduce("sum", {
  doc: "Σ over the given axes (all by default)",
  init: 0,
  combine: (acc, v) => acc + v,
  lowerInit: "0",
  lowerCombine: (acc, v) => `${acc} + ${v}`,
  torch: "torch.sum",
  onnx: { op: "ReduceSum", axesInput: true },
  symbol: "Σ",
  // d Σx = broadcast(dy): every summed element receives the whole gradient
  vjp: ({ inputs: [x], dy, attrs }, b) => [broadcastBack(b, dy, x, attrs)],
});
