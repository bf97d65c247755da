import { defineModel } from "flatgrad";

// Benchmark workload W1, the seed net: x[32,30] → 16 ReLU → 1 logit, sigmoid + BCE (bceWithLogits).
export default defineModel({
  dtype: "float32",
  optimizer: { type: "sgd", lr: 0.01 },
  build(g) {
    const x = g.input("x", [32, 30]);
    const y = g.input("y", [32, 1]); // 0/1 labels
    const W1 = g.param("W1", [16, 30], { init: "he" });
    const b1 = g.param("b1", [16]);
    const W2 = g.param("W2", [1, 16]);
    const b2 = g.param("b2", [1]);
    const a1 = g.relu(g.linear(x, W1, b1));
    const z2 = g.linear(a1, W2, b2);
    g.output("yhat", g.sigmoid(z2));
    return g.bceWithLogits(z2, y);
  },
});
