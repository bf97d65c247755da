import { defineModel } from "flatgrad";

// The tutorial's network, sized for the breast-cancer data: 30 features → 16 ReLU → 1 sigmoid, BCE.
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
    const z1 = g.linear(x, W1, b1); // z1 = x·W1ᵀ + b1
    const a1 = g.relu(z1); //          a1 = relu(z1)
    const z2 = g.linear(a1, W2, b2); // z2 = a1·W2ᵀ + b2
    g.output("yhat", g.sigmoid(z2));
    return g.bceWithLogits(z2, y);
  },
});
