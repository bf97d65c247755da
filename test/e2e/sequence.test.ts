/**
 * The sequence examples (`npm run demo -- lstm-digits | transformer-sort`), cheaply: the full
 * runs are the demo's. Here: the problems and their encoding (prompt masked by −100), greedy
 * decoding against an oracle that always answers right (so the decoding loop itself is checked),
 * and a few training steps of each compiled model on one batch, whose loss must fall.
 */
import { describe, expect, it } from "vitest";
import { loadDigits, mulberry32 } from "../../examples/data.js";
import { decode, encode, load, LSTM, makeProblems, SORT } from "../../examples/sequence.js";

type Tensor = Float32Array | Float64Array | Int32Array;
interface M {
  forward(inputs: Record<string, Tensor>): Record<string, Tensor>;
  step(inputs: Record<string, Tensor>, options?: { lr?: number }): number;
}
const L = 2 * SORT.N;

describe("transformer-sort", () => {
  it("problems are seeded digits, the held-out ones excluded; encode masks the prompt with −100", () => {
    const a = makeProblems(mulberry32(3), 50);
    expect(makeProblems(mulberry32(3), 50)).toEqual(a);
    for (const p of a) for (const d of p) expect(d >= 0 && d <= 9).toBe(true);
    const exclude = new Set(a.slice(0, 10).map((p) => p.join("")));
    for (const p of makeProblems(mulberry32(3), 50, exclude)) expect(exclude.has(p.join(""))).toBe(false);
    const tokens = new Int32Array(SORT.B * L);
    const targets = new Int32Array(SORT.B * L);
    const p = Int32Array.from({ length: SORT.N }, (_, i) => (7 * i + 3) % 10);
    encode([p], tokens, targets);
    const s = [...p].sort((x, y) => x - y);
    expect([...tokens.subarray(0, L)]).toEqual([...p, SORT.SEP, ...s.slice(0, SORT.N - 1)]);
    expect([...targets.subarray(0, L)]).toEqual([...Array(SORT.N).fill(-100), ...s]);
  });

  it("greedy decoding feeds each argmax back: an oracle that reads only the visible tokens gets 100 %, a wrong one 0 %", () => {
    const problems = makeProblems(mulberry32(5), SORT.B + 7); // two batches, the last one padded
    // the oracle answers position N + k from the prompt and checks that the k answers fed back so far are its own
    const oracle = (wrong: boolean): M => ({
      step: () => 0,
      forward: ({ tokens }) => {
        const t = tokens as Int32Array;
        const next = new Int32Array(SORT.B * L).fill(-1);
        for (let b = 0; b < SORT.B; b++) {
          const s = [...t.subarray(b * L, b * L + SORT.N)].sort((x, y) => x - y);
          expect(t[b * L + SORT.N]).toBe(SORT.SEP);
          let k = 0;
          while (k < SORT.N - 1 && t[b * L + SORT.N + 1 + k] === (wrong ? (s[k]! + 1) % 10 : s[k])) k++;
          for (let j = 0; j <= k; j++) next[b * L + SORT.N + j] = wrong ? (s[j]! + 1) % 10 : s[j]!;
        }
        return { next };
      },
    });
    const right = decode(oracle(false), problems);
    expect(right.exact).toBe(1);
    expect(right.digits).toBe(1);
    expect(right.answers.length).toBe(problems.length);
    expect([...right.answers[SORT.B + 3]!]).toEqual([...problems[SORT.B + 3]!].sort((x, y) => x - y));
    expect(decode(oracle(true), problems).exact).toBe(0);
  });

  it("the compiled transformer: the loss of a batch falls in 8 AdamW steps; decoding gives digits", async () => {
    const { createModel } = await load<M>(SORT.model);
    const m = createModel({ seed: 0 });
    const tokens = new Int32Array(SORT.B * L);
    const targets = new Int32Array(SORT.B * L);
    encode(makeProblems(mulberry32(9), SORT.B), tokens, targets);
    const losses = Array.from({ length: 8 }, () => m.step({ tokens, targets }));
    expect(losses[0]!).toBeGreaterThan(1.5); // about ln 11 at the start
    expect(losses.at(-1)!).toBeLessThan(0.8 * losses[0]!);
    const d = decode(m, makeProblems(mulberry32(10), 5));
    for (const a of d.answers) for (const t of a) expect(t >= 0 && t <= SORT.SEP).toBe(true);
  }, 180_000);
});

describe("lstm-digits", () => {
  it("the compiled LSTM: the loss of a batch of digits (int32 labels) falls in 8 Adam steps", async () => {
    const { createModel } = await load<M>(LSTM.model);
    const m = createModel({ seed: 0 });
    const train = loadDigits({ seed: 0 }).train;
    const x = Float32Array.from(train.x.subarray(0, LSTM.batchSize * 64));
    const y = Int32Array.from(train.labels.subarray(0, LSTM.batchSize));
    const losses = Array.from({ length: 8 }, () => m.step({ x, y }));
    expect(losses[0]!).toBeGreaterThan(2); // about ln 10 at the start
    expect(losses.at(-1)!).toBeLessThan(0.8 * losses[0]!);
  }, 180_000);
});
