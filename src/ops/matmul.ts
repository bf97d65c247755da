import { FlatgradError, broadcastShapes, fmtShape, rowMajorStrides, size, type Shape } from "../ir/shape.js";
import { emitMatmul, promote } from "../lower/matmulKernel.js";
import { planSimd } from "../wasm/matmul.js";
import { broadcastIndex, sameDtype } from "./family.js";
import type { Builder, NoAttrs, Node, Primitive, TensorLike } from "./types.js";

/** NumPy matmul dimensions: a 1-D a is a row [1,k], a 1-D b a column [k,1]; leading axes broadcast. */
export function matmulDims(a: Shape, b: Shape) {
  if (a.length === 0 || b.length === 0)
    throw new FlatgradError(`matmul: a is ${fmtShape(a)} but b is ${fmtShape(b)}: matmul needs operands of rank 1 or more (use mul for a scalar)`, undefined, "FG143");
  const a2 = a.length === 1 ? [1, a[0]!] : [...a];
  const b2 = b.length === 1 ? [b[0]!, 1] : [...b];
  const [m, k] = a2.slice(-2) as [number, number];
  const [k2, n] = b2.slice(-2) as [number, number];
  if (k !== k2) throw new FlatgradError(`matmul: a is ${fmtShape(a)} but b is ${fmtShape(b)}: inner sizes ${k} and ${k2} differ`, undefined, "FG141");
  let batch: number[];
  try {
    batch = broadcastShapes("matmul", a2.slice(0, -2), b2.slice(0, -2));
  } catch {
    throw new FlatgradError(`matmul: a is ${fmtShape(a)} but b is ${fmtShape(b)}: batch axes ${fmtShape(a2.slice(0, -2))} and ${fmtShape(b2.slice(0, -2))} cannot be broadcast`, undefined, "FG142");
  }
  const out = [...batch, ...(a.length > 1 ? [m] : []), ...(b.length > 1 ? [n] : [])];
  return { a2, b2, batch, m, k, n, out };
}

export const matmul: Primitive<(b: Builder, a: TensorLike, b2: TensorLike) => Node, NoAttrs> = {
  kind: "primitive",
  doc: "matrix product with NumPy semantics (1-D vectors, 2-D matrices, batched 3-D and more)",
  call: (b, x, y) => b.apply("matmul", [b.lift(x, "matmul", "a"), b.lift(y, "matmul", "b")]),
  dtype: sameDtype("matmul", ["a", "b"]),
  shape: ([a, b]) => matmulDims(a!, b!).out,
  eval: ([x, y], [as, bs]) => {
    const { a2, b2, batch, m, k, n } = matmulDims(as!, bs!);
    const nb = size(batch);
    const ia = broadcastIndex(a2.slice(0, -2), batch);
    const ib = broadcastIndex(b2.slice(0, -2), batch);
    const res = new Float64Array(nb * m * n);
    for (let t = 0; t < nb; t++) {
      const oa = ia(t) * m * k;
      const ob = ib(t) * k * n;
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let acc = 0;
          for (let p = 0; p < k; p++) acc += x![oa + i * k + p]! * y![ob + p * n + j]!;
          res[t * m * n + i * n + j] = acc;
        }
    }
    return res;
  },
  // d(a·b) = dy·bᵀ for a and aᵀ·dy for b (1-D operands promoted, broadcast batch axes summed)
  vjp: ({ inputs, dy }, b) => {
    const [x, y] = inputs as readonly [Node, Node];
    const { a2, b2, batch, m, n: nn } = matmulDims(x.shape, y.shape);
    const xa = x.shape.length === 1 ? b.reshape(x, a2) : x;
    const yb = y.shape.length === 1 ? b.reshape(y, b2) : y;
    const g2 = dy.shape.length === batch.length + 2 ? dy : b.reshape(dy, [...batch, m, nn]);
    const swap = (t: Node) => b.transpose(t, t.shape.map((_, i) => (i < t.shape.length - 2 ? i : t.shape.length * 2 - 3 - i)));
    const back = (d: Node, promoted: number[], orig: Node) => b.reshape(b.unbroadcast(d, promoted), [...orig.shape]);
    // b broadcast along every batch axis (x[..., m, k]·W, a linear layer): dB = Σ_batch aᵀ·dy is one product
    // over the batch's rows, [B·m, k]ᵀ·[B·m, n], not a product per batch and their sum
    if (batch.length && x.shape.length > 2 && size(b2.slice(0, -2)) === 1) {
      const rows = size(batch) * m;
      const k = a2[a2.length - 1]!;
      return [back(b.matmul(g2, swap(yb)), a2, x), b.reshape(b.matmul(b.transpose(b.reshape(xa, [rows, k])), b.reshape(g2, [rows, nn])), [...y.shape])];
    }
    return [back(b.matmul(g2, swap(yb)), a2, x), back(b.matmul(swap(xa), g2), b2, y)];
  },
  math: ([a, c]) => `${a}·${c}`,
  torch: ([a, b]) => `torch.matmul(${a}, ${b})`,
  onnx: (o, [a, b]) => o.node("MatMul", [a!, b!]),
  lower: {
    kind: "kernel",
    // loops in src/lower/matmulKernel.ts: one register-blocked kernel for every layout
    emit: (w, out, [av, bv], _attrs, epilogue) => emitMatmul(w, out, av!, bv!, matmulDims(av!.shape, bv!.shape), epilogue),
    // z = x·Wᵀ + b, a = relu(z) is one kernel: the tail is applied as each element is stored
    fusesEpilogue: (ins) => ins.every((s) => s.length >= 2),
    // f32x4 kernels (src/wasm/matmul.ts), batched ones looping over the batch axes (stride 0 where an operand broadcasts)
    simd: ([av, bv]) => {
      const { a2, b2, batch, m, k, n } = matmulDims(av!.shape, bv!.shape);
      return planSimd(promote(av!, a2, batch), promote(bv!, b2, batch), m, k, n);
    },
  },
};
