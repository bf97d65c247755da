/**
 * Metamorphic check: for a mean loss, the gradient of a batch of B rows equals the mean of the
 * gradients of B single-row runs, to 1e-12 relative in float64.
 */
import { describe, expect, it } from "vitest";
import type { Builder } from "../../src/dsl/builder.js";
import type { Node } from "../../src/ir/graph.js";
import { compileAndLoad, maxRelErr, rng } from "../support/helpers.js";

const B = 6;
const losses: Record<string, (g: Builder, z: Node, y: Node) => Node> = {
  softmaxCrossEntropy: (g, z, y) => g.softmaxCrossEntropy(z, y),
  bceWithLogits: (g, z, y) => g.bceWithLogits(z, y),
  mse: (g, z, y) => g.mse(g.tanh(z), y),
};

describe("batch = mean of single rows", () => {
  for (const [name, loss] of Object.entries(losses)) {
    it(name, async () => {
      const def = (rows: number) => ({
        dtype: "float64" as const,
        build(g: Builder) {
          const x = g.input("x", [rows, 5]);
          const y = g.input("y", [rows, 3]);
          const h = g.relu(g.linear(x, g.param("W1", [4, 5]), g.param("b1", [4], { init: "normal", std: 0.3 })));
          return loss(g, g.linear(h, g.param("W2", [3, 4]), g.param("b2", [3], { init: "normal", std: 0.3 })), y);
        },
      });
      const batch = (await compileAndLoad(def(B), `meta-${name}-b`)).mod.createModel({ seed: 5 });
      const single = (await compileAndLoad(def(1), `meta-${name}-1`)).mod.createModel({ seed: 5 });
      const rand = rng(17);
      const x = Float64Array.from({ length: B * 5 }, () => rand() * 2 - 1);
      const y = Float64Array.from({ length: B * 3 }, () => rand());
      const lossB = batch.lossAndGrad({ x, y });
      const sum: Record<string, Float64Array> = Object.fromEntries(Object.entries(batch.grads).map(([k, v]) => [k, new Float64Array(v.length)]));
      let lossSum = 0;
      for (let r = 0; r < B; r++) {
        lossSum += single.lossAndGrad({ x: x.slice(r * 5, r * 5 + 5), y: y.slice(r * 3, r * 3 + 3) });
        for (const [k, v] of Object.entries(single.grads)) v.forEach((gv, i) => (sum[k]![i]! += gv / B));
      }
      expect(maxRelErr([lossB], [lossSum / B])).toBeLessThan(1e-12);
      for (const k of Object.keys(sum)) expect(maxRelErr(batch.grads[k]!, sum[k]!, 1e-14), k).toBeLessThan(1e-12);
    });
  }
});
