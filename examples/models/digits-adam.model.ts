import { defineModel } from "flatgrad";

// The digits MLP of models/digits-mlp.model.ts (64 pixels → 128 ReLU → 10, softmax
// cross-entropy, batches of 64), trained with Adam instead of plain SGD: the demo's second run.
export default defineModel({
  dtype: "float32",
  optimizer: { type: "adam", lr: 0.003 },
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
