/**
 * gelu(x, approximate): x·Φ(x), PyTorch's F.gelu. The erf form is PyTorch's formula,
 * 0.5·x·(1 + erf(x/√2)), with an erf accurate to float64 rounding; "tanh" is its approximation
 * 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). Built from erf (or tanh): its derivative is theirs.
 */
import { FlatgradError, fmtShape, fmtValue } from "../ir/shape.js";
import type { Builder, Composite, Node, TensorLike } from "./types.js";

export const gelu: Composite<(b: Builder, x: TensorLike, approximate?: "none" | "tanh") => Node> = {
  kind: "composite",
  doc: 'x·Φ(x) (F.gelu): 0.5·x·(1 + erf(x/√2)), or with approximate "tanh" 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))',
  call: (b, x, approximate = "none") => {
    const xn = b.lift(x, "gelu", "x");
    if (approximate !== "none" && approximate !== "tanh")
      throw new FlatgradError(`gelu: x is ${fmtShape(xn.shape)} but approximate is ${fmtValue(approximate)}: it must be "none" (the erf form) or "tanh"`, undefined, "FG223");
    const inner = approximate === "none" ? b.erf(b.mul(xn, Math.SQRT1_2)) : b.tanh(b.mul(b.add(xn, b.mul(b.pow(xn, 3), 0.044715)), Math.sqrt(2 / Math.PI)));
    return b.mul(b.mul(xn, 0.5), b.add(inner, 1));
  },
};
