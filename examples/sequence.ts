/**
 * The sequence examples (`npm run demo -- lstm-digits | transformer-sort`), model files in
 * examples/models/ compiled on demand into the demo's cache folder:
 *
 * - lstm-digits: an LSTM (hidden 64) reads each 8×8 digit as 8 rows of 8 pixels (the loop in
 *   examples/models/digits-lstm.model.ts, unrolled by the compiler), int32 labels, crossEntropy,
 *   Adam (lr 0.01, cosine decay per epoch); the demo's seeded 80/20 split. Draws docs/lstm-digits.svg;
 *   exit 1 below 96 % held out.
 * - transformer-sort: a 2-block causal transformer (2 heads, width 32, GELU MLP) learns to sort 6
 *   digits from problems generated on the fly (no data set), the prompt masked from the loss by
 *   crossEntropy's ignoreIndex; then decodes 1,000 held-out problems greedily with argmax (the
 *   model's `next` output) and reports exact-match accuracy. Draws docs/transformer-sort.svg; exit 1
 *   below 99 %. No training problem equals a held-out one (they are excluded while generating).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { compile, formatDiagnostic } from "../src/compile.js";
import { loadDigits, mulberry32 } from "./data.js";
import { xyChart } from "./plot.js";
import { fit, type EpochLog, type FitResult, type TrainableModel } from "./training.js";
import { ROOT } from "./demo.js";

type Tensor = Float32Array | Float64Array | Int32Array;
interface SeqModel {
  forward(inputs: Record<string, Tensor>): Record<string, Tensor>;
  step(inputs: Record<string, Tensor>, options?: { lr?: number }): number;
}

/** Compile an example's model into the demo's cache folder and import it. */
export async function load<M>(model: string): Promise<{ createModel(o?: { seed?: number }): M; compiled: string }> {
  const t0 = performance.now();
  const result = await compile({ models: [model], outDir: "node_modules/.cache/flatgrad-demo", root: ROOT });
  if (result.diagnostics.length) throw new Error(result.diagnostics.map(formatDiagnostic).join("\n"));
  const file = result.files[0]!;
  const mod = await import(pathToFileURL(path.resolve(ROOT, file.path)).href);
  return { createModel: mod.createModel, compiled: `${model} → ${file.path} (${file.status}), ${((performance.now() - t0) / 1000).toFixed(1)} s` };
}

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
const tty = () => process.stdout.isTTY === true;
function progress(line: string): void {
  if (tty()) process.stdout.write(`\r${line}\x1b[K`);
  else console.log(line);
}
function writeSvg(name: string, svg: string): string {
  const out = path.join(ROOT, "docs", name);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, svg);
  return path.relative(process.cwd(), out) || out;
}

// ---------------------------------------------------------------------------------------------
// lstm-digits

export const LSTM = { model: "examples/models/digits-lstm.model.ts", batchSize: 64, epochs: 30, lr: 0.01, target: 0.96 };

/** Train the digits LSTM from seed 0 on the demo's split (`fit` with int32 labels). */
export async function trainLstm(epochs = LSTM.epochs, onEpoch?: (l: EpochLog) => void): Promise<FitResult & { compiled: string }> {
  const { createModel, compiled } = await load<TrainableModel>(LSTM.model);
  const result = fit(createModel({ seed: 0 }), loadDigits({ seed: 0 }), {
    dtype: "float32",
    batchSize: LSTM.batchSize,
    epochs,
    seed: 0,
    output: "logits",
    labels: "int32",
    lr: (e) => 0.5 * LSTM.lr * (1 + Math.cos((Math.PI * e) / epochs)), // cosine decay per epoch
    onEpoch,
  });
  return { ...result, compiled };
}

async function lstmDigits(): Promise<number> {
  const r = await trainLstm(LSTM.epochs, (l) => {
    progress(
      `  lstm-digits · Adam  epoch ${String(l.epoch).padStart(2)}/${l.epochs}  loss ${l.loss.toFixed(4)}  ` +
        `train ${pct(l.trainAccuracy).padStart(7)}  held-out ${pct(l.testAccuracy).padStart(7)}  ${Math.round(l.stepsPerSecond).toLocaleString("en-US")} steps/s`,
    );
  });
  if (tty()) process.stdout.write("\n");
  const test = loadDigits({ seed: 0 }).test;
  const reached = r.accuracy >= LSTM.target;
  console.log(`lstm-digits: ${r.compiled}`);
  console.log(
    `lstm-digits: held-out accuracy ${pct(r.accuracy)} (${Math.round(r.accuracy * test.rows)}/${test.rows}, target ${pct(LSTM.target)}: ${reached ? "reached" : "MISSED"}), ` +
      `${r.steps} steps in ${r.seconds.toFixed(1)} s (${Math.round(r.steps / r.seconds)} steps/s with evaluation)`,
  );
  const epochs = r.logs.map((l) => l.epoch);
  const svg = xyChart("flatgrad: an LSTM reads 8×8 digits row by row", [
    { title: "training loss (mean per epoch)", xLabel: "epoch", log: true, series: [{ label: "loss", color: "#9467bd", x: epochs, y: r.logs.map((l) => l.loss) }] },
    {
      title: "accuracy",
      xLabel: "epoch",
      series: [
        { label: "train", color: "#1f77b4", x: epochs, y: r.logs.map((l) => l.trainAccuracy) },
        { label: "held-out", color: "#d62728", x: epochs, y: r.logs.map((l) => l.testAccuracy) },
        { label: "target 96 %", color: "#888888", x: [1, epochs.length], y: [LSTM.target, LSTM.target], dashed: true },
      ],
    },
  ]);
  console.log(`lstm-digits: curves ${writeSvg("lstm-digits.svg", svg)}`);
  return reached ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// transformer-sort

/** The task's sizes, fixed by the model file: B problems of N digits, L = 2N positions read. */
export const SORT = { model: "examples/models/sort-transformer.model.ts", B: 32, N: 6, SEP: 10, steps: 2000, warmup: 100, lr: 0.003, heldOut: 1000, target: 0.99, evalEvery: 500 };
const L = 2 * SORT.N;

/** `count` problems (N digits each, 0–9, repeats allowed) from a seeded generator, none of them in `exclude`. */
export function makeProblems(rand: () => number, count: number, exclude?: Set<string>): Int32Array[] {
  const out: Int32Array[] = [];
  while (out.length < count) {
    const p = Int32Array.from({ length: SORT.N }, () => Math.floor(rand() * 10));
    if (!exclude?.has(p.join(""))) out.push(p);
  }
  return out;
}

/** Fill a batch: tokens `d1 … dN SEP s1 … s(N−1)`, targets −100 over the prompt and `s1 … sN` from position N on. */
export function encode(problems: Int32Array[], tokens: Int32Array, targets: Int32Array): void {
  problems.forEach((p, b) => {
    const s = Int32Array.from(p).sort();
    for (let i = 0; i < SORT.N; i++) {
      tokens[b * L + i] = p[i]!;
      targets[b * L + i] = -100; // the prompt's positions: ignoreIndex, not learned
      targets[b * L + SORT.N + i] = s[i]!;
    }
    tokens[b * L + SORT.N] = SORT.SEP;
    for (let i = 0; i < SORT.N - 1; i++) tokens[b * L + SORT.N + 1 + i] = s[i]!;
  });
}

/**
 * Greedy decoding: the prompt and SEP, then N forwards, each taking the argmax at the next
 * answer position and feeding it back. Returns the answers (N per problem) and the exact-match and
 * per-digit accuracies. The last batch is padded with copies of the first problem (not counted).
 */
export function decode(model: SeqModel, problems: Int32Array[]): { answers: Int32Array[]; exact: number; digits: number } {
  const { B, N } = SORT;
  const tokens = new Int32Array(B * L);
  const answers: Int32Array[] = [];
  for (let start = 0; start < problems.length; start += B) {
    const batch = problems.slice(start, start + B);
    tokens.fill(0);
    for (let b = 0; b < B; b++) {
      const p = batch[b] ?? problems[0]!;
      tokens.set(p, b * L);
      tokens[b * L + N] = SORT.SEP;
    }
    const out = batch.map(() => new Int32Array(N));
    for (let k = 0; k < N; k++) {
      const next = model.forward({ tokens }).next as Int32Array; // causal: positions after N + k do not matter yet
      for (let b = 0; b < batch.length; b++) {
        const t = next[b * L + N + k]!;
        out[b]![k] = t;
        if (k < N - 1) tokens[b * L + N + 1 + k] = t;
      }
    }
    answers.push(...out);
  }
  let exact = 0;
  let digits = 0;
  problems.forEach((p, i) => {
    const s = Int32Array.from(p).sort();
    let same = 0;
    for (let k = 0; k < N; k++) if (answers[i]![k] === s[k]) same++;
    digits += same;
    if (same === N) exact++;
  });
  return { answers, exact: exact / problems.length, digits: digits / (problems.length * N) };
}

export interface SortLog {
  step: number;
  loss: number;
}

/** Train from seed 0: fresh problems every step (seed 0's generator), warm-up then cosine decay of the lr. */
export async function trainSort(
  steps = SORT.steps,
  onProgress?: (s: { step: number; loss: number; stepsPerSecond: number; eval?: { exact: number; digits: number } }) => void,
): Promise<{ model: SeqModel; heldOut: Int32Array[]; losses: SortLog[]; evals: { step: number; exact: number; digits: number }[]; seconds: number; trainSeconds: number; compiled: string }> {
  const { createModel, compiled } = await load<SeqModel>(SORT.model);
  const model = createModel({ seed: 0 });
  const heldOut = makeProblems(mulberry32(12345), SORT.heldOut);
  const exclude = new Set(heldOut.map((p) => p.join("")));
  const rand = mulberry32(0);
  const tokens = new Int32Array(SORT.B * L);
  const targets = new Int32Array(SORT.B * L);
  const losses: SortLog[] = [];
  const evals: { step: number; exact: number; digits: number }[] = [];
  const start = performance.now();
  let trainMs = 0;
  let sum = 0;
  let n = 0;
  for (let s = 1; s <= steps; s++) {
    encode(makeProblems(rand, SORT.B, exclude), tokens, targets);
    const lr = s <= SORT.warmup ? (SORT.lr * s) / SORT.warmup : 0.5 * SORT.lr * (1 + Math.cos((Math.PI * (s - SORT.warmup)) / (steps - SORT.warmup)));
    const t0 = performance.now();
    const loss = model.step({ tokens, targets }, { lr });
    trainMs += performance.now() - t0;
    if (!Number.isFinite(loss)) throw new Error(`step ${s}: the loss is ${loss}`);
    sum += loss;
    n++;
    if (s % 50 === 0 || s === steps) {
      losses.push({ step: s, loss: sum / n });
      let ev: { exact: number; digits: number } | undefined;
      if (s % SORT.evalEvery === 0 || s === steps) {
        const d = decode(model, heldOut);
        ev = { exact: d.exact, digits: d.digits };
        evals.push({ step: s, ...ev });
      }
      onProgress?.({ step: s, loss: sum / n, stepsPerSecond: (1000 * s) / trainMs, eval: ev });
      sum = 0;
      n = 0;
    }
  }
  return { model, heldOut, losses, evals, seconds: (performance.now() - start) / 1000, trainSeconds: trainMs / 1000, compiled };
}

async function transformerSort(): Promise<number> {
  let last: { exact: number; digits: number } | undefined; // the latest evaluation (every SORT.evalEvery steps)
  const r = await trainSort(SORT.steps, (p) => {
    if (p.eval) last = p.eval;
    const shown = (v: number | undefined) => (v === undefined ? "–" : pct(v)).padStart(7);
    progress(
      `  transformer-sort · AdamW  step ${String(p.step).padStart(4)}/${SORT.steps}  loss ${p.loss.toFixed(4)}  ` +
        `held-out exact ${shown(last?.exact)}  digits ${shown(last?.digits)}  ${Math.round(p.stepsPerSecond)} steps/s`,
    );
  });
  if (tty()) process.stdout.write("\n");
  const t0 = performance.now();
  const final = decode(r.model, r.heldOut);
  const decodeSeconds = (performance.now() - t0) / 1000;
  const reached = final.exact >= SORT.target;
  console.log(`transformer-sort: ${r.compiled}`);
  console.log(
    `transformer-sort: ${SORT.steps} AdamW steps of ${SORT.B} fresh problems in ${r.trainSeconds.toFixed(1)} s (${Math.round(SORT.steps / r.trainSeconds)} steps/s), final loss ${r.losses.at(-1)!.loss.toFixed(4)}`,
  );
  console.log(
    `transformer-sort: greedy decoding of ${r.heldOut.length} held-out problems (${decodeSeconds.toFixed(2)} s): exact match ${pct(final.exact)} ` +
      `(${Math.round(final.exact * r.heldOut.length)}/${r.heldOut.length}, target ${pct(SORT.target)}: ${reached ? "reached" : "MISSED"}), digits right ${pct(final.digits)}`,
  );
  const ex = r.heldOut.slice(0, 3).map((p, i) => `${p.join("")} → ${final.answers[i]!.join("")}`);
  console.log(`transformer-sort: e.g. ${ex.join(", ")}`);
  const steps = r.evals.map((e) => e.step);
  const svg = xyChart("flatgrad: a causal transformer learns to sort 6 digits", [
    { title: "training loss (answer tokens, mean per 50 steps)", xLabel: "step", log: true, series: [{ label: "loss", color: "#9467bd", x: r.losses.map((l) => l.step), y: r.losses.map((l) => l.loss) }] },
    {
      title: "held-out, greedy decoding (1,000 problems)",
      xLabel: "step",
      series: [
        { label: "exact match", color: "#d62728", x: steps, y: r.evals.map((e) => e.exact) },
        { label: "digits right", color: "#1f77b4", x: steps, y: r.evals.map((e) => e.digits) },
        { label: "target 99 %", color: "#888888", x: [steps[0]!, steps.at(-1)!], y: [SORT.target, SORT.target], dashed: true },
      ],
    },
  ]);
  console.log(`transformer-sort: curves ${writeSvg("transformer-sort.svg", svg)}`);
  return reached ? 0 : 1;
}

export const SEQUENCE_EXAMPLES: Record<string, () => Promise<number>> = { "lstm-digits": lstmDigits, "transformer-sort": transformerSort };
