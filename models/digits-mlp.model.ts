import { defineModel } from "flatgrad";

// The digits MLP: 64 pixels (8×8, scaled to [0, 1]) → 128 ReLU → 10 logits, softmax cross-entropy
// against one-hot labels. A batch is 64 images.
export default defineModel({
  dtype: "float32",
  optimizer: { type: "sgd", lr: 0.1 },
  build(g) {
    const x = g.input("x", [64, 64]);
    const y = g.input("y", [64, 10]); // one-hot
    const W1 = g.param("W1", [128, 64], { init: "he" });
    const b1 = g.param("b1", [128]);
    const W2 = g.param("W2", [10, 128]);
    const b2 = g.param("b2", [10]);
    const z1 = g.linear(x, W1, b1); //     z1 = x·W1ᵀ + b1
    const a1 = g.relu(z1); //              a1 = relu(z1)
    const logits = g.linear(a1, W2, b2); // logits = a1·W2ᵀ + b2
    g.output("probs", g.softmax(logits));
    return g.softmaxCrossEntropy(logits, y);
  },
});
