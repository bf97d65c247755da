import { defineModel } from "flatgrad";

// A small CNN on the 8×8 digits, the demo's third run: two conv blocks (conv 3×3 → batch norm →
// relu → max-pool 2), dropout and a linear head, integer labels, AdamW. x is the same flat rows as
// the digits MLP's, read as [64, 1, 8, 8]. The names are the state_dict keys of the equivalent
// torch.nn module (conv1 = Conv2d(1, 16, 3, padding=1), bn1 = BatchNorm2d(16), ..., fc = Linear(128, 10)),
// so a checkpoint of this model loads into it (test/emit/torchCheckpoint.test.ts).
export default defineModel({
  dtype: "float32",
  optimizer: { type: "adamw", lr: 0.01, weightDecay: 0.01 }, // the demo anneals lr by a cosine over its 15 epochs
  build(g) {
    const x = g.input("x", [64, 1, 8, 8]);
    const y = g.input("y", [64], { dtype: "int32" }); // class indices 0…9
    /** A BatchNorm2d's params and buffers under `name` (PyTorch's initial values). */
    const bn = (name: string, c: number) => ({
      weight: g.param(`${name}.weight`, [c], { init: "ones" }),
      bias: g.param(`${name}.bias`, [c], { init: "zeros" }),
      runningMean: g.buffer(`${name}.running_mean`, [c]),
      runningVar: g.buffer(`${name}.running_var`, [c], { init: "ones" }),
    });
    const w1 = g.param("conv1.weight", [16, 1, 3, 3], { init: "he" });
    const b1 = g.param("conv1.bias", [16]);
    const bn1 = bn("bn1", 16);
    const w2 = g.param("conv2.weight", [32, 16, 3, 3], { init: "he" });
    const b2 = g.param("conv2.bias", [32]);
    const bn2 = bn("bn2", 32);
    const wf = g.param("fc.weight", [10, 128]);
    const bf = g.param("fc.bias", [10]);

    const h1 = g.maxPool2d(g.relu(g.batchNorm(g.conv2d(x, w1, b1, { padding: 1 }), bn1)), 2); //  [64, 16, 4, 4]
    const h2 = g.maxPool2d(g.relu(g.batchNorm(g.conv2d(h1, w2, b2, { padding: 1 }), bn2)), 2); // [64, 32, 2, 2]
    const flat = g.dropout(g.reshape(h2, [64, 128]), 0.25); //                                     torch.flatten(h2, 1)
    const logits = g.linear(flat, wf, bf); //                                                      logits = flat·fcᵀ + b
    g.output("logits", logits);
    return g.crossEntropy(logits, y);
  },
});
