/**
 * A recurrence as examples/models/digits-lstm.model.ts writes it (a plain loop over T steps of an
 * LSTM or GRU cell, a linear head on the last state, MSE against y), for any number of steps:
 * the model of test/emit/kernelSharing.test.ts and of bench/compileTime.mjs.
 */
import type { ModelDefinition } from "../src/index.js";

export type Cell = "lstm" | "gru";
/** A recurrence as examples/models/digits-lstm.model.ts writes it: a plain loop over T steps, a linear head on the last state. */
export function recurrence(cell: Cell, T: number, dtype: "float32" | "float64", N = 8, I = 8, H = 16): ModelDefinition {
  const G = cell === "lstm" ? 4 : 3;
  return {
    dtype,
    optimizer: { type: "adam", lr: 0.01 },
    build(g) {
      const x = g.input("x", [N, T * I]);
      const y = g.input("y", [N, 4]);
      const Wih = g.param("rnn.weight_ih", [G * H, I]);
      const Whh = g.param("rnn.weight_hh", [G * H, H]);
      const bih = g.param("rnn.bias_ih", [G * H]);
      const bhh = g.param("rnn.bias_hh", [G * H]);
      const rows = g.reshape(x, [N, T, I]);
      let h = g.constant(0, [N, H]);
      let c = g.constant(0, [N, H]);
      for (let t = 0; t < T; t++) {
        const xt = g.reshape(g.slice(rows, 1, t, t + 1), [N, I]);
        if (cell === "lstm") ({ h, c } = g.lstmCell(xt, h, c, Wih, Whh, bih, bhh));
        else h = g.gruCell(xt, h, Wih, Whh, bih, bhh);
      }
      const out = g.linear(h, g.param("head.weight", [4, H]), g.param("head.bias", [4]));
      g.output("out", out);
      return g.mse(out, y);
    },
  };
}
