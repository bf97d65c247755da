import { defineModel } from "flatgrad";

// Benchmark workload W3, an MNIST-sized MLP: x[128,784] → 256 ReLU → 128 ReLU → 10 logits, softmax cross-entropy.
export default defineModel({
  dtype: "float32",
  optimizer: { type: "sgd", lr: 0.01 },
  build(g) {
    const x = g.input("x", [128, 784]);
    const y = g.input("y", [128, 10]); // one-hot
    const W1 = g.param("W1", [256, 784], { init: "he" });
    const b1 = g.param("b1", [256]);
    const W2 = g.param("W2", [128, 256], { init: "he" });
    const b2 = g.param("b2", [128]);
    const W3 = g.param("W3", [10, 128]);
    const b3 = g.param("b3", [10]);
    const a1 = g.relu(g.linear(x, W1, b1));
    const a2 = g.relu(g.linear(a1, W2, b2));
    const logits = g.linear(a2, W3, b3);
    return g.softmaxCrossEntropy(logits, y);
  },
});
