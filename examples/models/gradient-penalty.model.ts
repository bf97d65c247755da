import { defineModel } from "flatgrad";

// The seed net (models/seed-net.model.ts: 30 features → 16 ReLU → 1, BCE) with a gradient penalty: the
// loss adds λ·‖∂L/∂x‖², the squared norm of the loss's gradient with respect to the input batch,
// which asks for a classifier whose loss changes slowly as the input moves (a smoother decision
// function; the penalty of WGAN-GP and of input-gradient regularisation).
export default defineModel({
  dtype: "float32",
  optimizer: { type: "sgd", lr: 0.1 },
  build(g) {
    const x = g.input("x", [32, 30]);
    const y = g.input("y", [32, 1]);
    const W1 = g.param("W1", [16, 30], { init: "he" });
    const b1 = g.param("b1", [16]);
    const W2 = g.param("W2", [1, 16]);
    const b2 = g.param("b2", [1]);
    const logits = g.linear(g.relu(g.linear(x, W1, b1)), W2, b2);
    g.output("yhat", g.sigmoid(logits));
    const bce = g.bceWithLogits(logits, y);
    const [dx_bce] = g.grad(bce, [x]); //            ∂L/∂x, [32, 30]
    // L is a mean over 32 rows, so row i's part of ∂L/∂x is ∂ℓᵢ/∂xᵢ / 32: 32·‖∂L/∂x‖² is the mean over rows of ‖∂ℓᵢ/∂xᵢ‖²
    const penalty = g.mul(g.sum(g.square(dx_bce)), 32);
    g.output("penalty", penalty);
    return g.add(bce, g.mul(penalty, 0.1));
  },
});
