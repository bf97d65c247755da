import { defineModel } from "flatgrad";

// Benchmark workload W2, the digits MLP: x[64,64] → 128 ReLU → 10 logits, softmax cross-entropy.
export default defineModel({
  dtype: "float32",
  optimizer: { type: "sgd", lr: 0.01 },
  build(g) {
    const x = g.input("x", [64, 64]);
    const y = g.input("y", [64, 10]); // one-hot
    const W1 = g.param("W1", [128, 64], { init: "he" });
    const b1 = g.param("b1", [128]);
    const W2 = g.param("W2", [10, 128]);
    const b2 = g.param("b2", [10]);
    const a1 = g.relu(g.linear(x, W1, b1));
    const logits = g.linear(a1, W2, b2);
    return g.softmaxCrossEntropy(logits, y);
  },
});
