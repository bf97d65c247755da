import { defineModel } from "flatgrad";

// An LSTM that reads each 8×8 digit as a sequence of its 8 rows (8 pixels a step) and classifies
// it from the last hidden state: `npm run demo -- lstm-digits`. The recurrence is a plain loop;
// the compiler sees the 8 unrolled steps. Names are nn.LSTMCell's state_dict keys.
const N = 64; // batch
const T = 8; //  steps (rows)
const I = 8; //  features per step (pixels in a row)
const H = 64; // hidden size

export default defineModel({
  dtype: "float32",
  optimizer: { type: "adam", lr: 0.01 },
  build(g) {
    const x = g.input("x", [N, T * I]); // the 64 pixels ÷ 16, row-major
    const y = g.input("y", [N], { dtype: "int32" }); // the digit
    const Wih = g.param("lstm.weight_ih", [4 * H, I]);
    const Whh = g.param("lstm.weight_hh", [4 * H, H]);
    const bih = g.param("lstm.bias_ih", [4 * H]);
    const bhh = g.param("lstm.bias_hh", [4 * H]);
    const Wout = g.param("head.weight", [10, H]);
    const bout = g.param("head.bias", [10]);
    const rows = g.reshape(x, [N, T, I]);
    let s = { h: g.constant(0, [N, H]), c: g.constant(0, [N, H]) };
    for (let t = 0; t < T; t++) {
      const xt = g.reshape(g.slice(rows, 1, t, t + 1), [N, I]); // row t of every digit
      s = g.lstmCell(xt, s.h, s.c, Wih, Whh, bih, bhh);
    }
    const logits = g.linear(s.h, Wout, bout);
    g.output("logits", logits);
    return g.crossEntropy(logits, y);
  },
});
