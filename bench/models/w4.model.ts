import { defineModel } from "flatgrad";

// Benchmark workload W4, LeNet on 28×28 images: x[64,1,28,28] → conv 1→8 5×5 → ReLU → max pool 2 → conv 8→16 5×5 → ReLU → max pool 2 → 256 → 10 logits, softmax cross-entropy.
export default defineModel({
  dtype: "float32",
  optimizer: { type: "sgd", lr: 0.01 },
  build(g) {
    const x = g.input("x", [64, 1, 28, 28]);
    const y = g.input("y", [64, 10]); // one-hot
    const W1 = g.param("W1", [8, 1, 5, 5], { init: "he" });
    const b1 = g.param("b1", [8]);
    const W2 = g.param("W2", [16, 8, 5, 5], { init: "he" });
    const b2 = g.param("b2", [16]);
    const W3 = g.param("W3", [10, 256]);
    const b3 = g.param("b3", [10]);
    const p1 = g.maxPool2d(g.relu(g.conv2d(x, W1, b1)), 2); // [64, 8, 12, 12]
    const p2 = g.maxPool2d(g.relu(g.conv2d(p1, W2, b2)), 2); // [64, 16, 4, 4]
    const logits = g.linear(g.reshape(p2, [64, 256]), W3, b3);
    g.output("logits", logits);
    return g.softmaxCrossEntropy(logits, y);
  },
});
