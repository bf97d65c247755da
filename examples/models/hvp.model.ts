import { defineModel } from "flatgrad";

// A Hessian-vector product as a model output: H·v = ∂⟨∇L, v⟩/∂W, the gradient of the gradient's
// inner product with a direction v, for a small tanh regression network. One extra backward
// pass; the Hessian itself ([40 × 40] here, [n × n] in general) is never formed.
export default defineModel({
  dtype: "float64",
  build(g) {
    const x = g.input("x", [16, 4]);
    const y = g.input("y", [16, 1]);
    const W1 = g.param("W1", [8, 4]);
    const W2 = g.param("W2", [1, 8]);
    const vW1 = g.input("vW1", [8, 4]); // the direction v, one part per param
    const vW2 = g.input("vW2", [1, 8]);
    const loss = g.mse(g.linear(g.tanh(g.linear(x, W1)), W2), y);
    const [dW1, dW2] = g.grad(loss, [W1, W2]); // ∇L, differentiable
    const gv = g.add(g.sum(g.mul(dW1, vW1)), g.sum(g.mul(dW2, vW2))); // ⟨∇L, v⟩
    const [hvW1, hvW2] = g.grad(gv, [W1, W2]); // H·v
    g.output("hvW1", hvW1);
    g.output("hvW2", hvW2);
    return loss;
  },
});
