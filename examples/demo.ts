/**
 * `npm run demo`: compile (if needed) and train two real-data models with the generated code.
 *
 * - the seed net (models/seed-net.model.ts, plain SGD, lr 0.1) on breast cancer: 30 features
 *   standardised on the training rows, seeded 80/20 split, 30 epochs of 14 batches of 32;
 * - the digits MLP with Adam (examples/models/digits-adam.model.ts, lr 0.003) on the 8×8
 *   digits ÷ 16, seeded 80/20 split, 20 epochs of 22 batches of 64;
 * - the digits CNN with AdamW (examples/models/digits-cnn.model.ts: two conv blocks with batch
 *   norm and max-pooling, dropout, a linear head, int32 labels) on the same rows read as
 *   [64, 1, 8, 8], lr 0.01 annealed by a cosine to 0 over 15 epochs of 22 batches of 64.
 *
 * Shows a progress line per epoch (updated in place on a terminal, one line each otherwise),
 * checks the held-out accuracy targets (≥ 96 % each, ≥ 98.5 % for the CNN; exit code 1 if one is missed) and writes
 * the loss and accuracy curves as an SVG (docs/training-curves.svg) whose path it prints.
 * Everything is seeded, so every run trains the same and writes the same SVG.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { compile, formatDiagnostic } from "../src/compile.js";
import { loadBreastCancer, loadDigits, type Split } from "./data.js";
import { lineChart } from "./svg.js";
import { fit, type EpochLog, type FitResult, type Labels, type TrainableModel } from "./training.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Cosine annealing without restarts (`torch.optim.lr_scheduler.CosineAnnealingLR`, stepped per epoch): lr₀·½(1 + cos(π·e/epochs)). */
export function cosine(lr0: number, epochs: number): (epoch: number) => number {
  return (e) => lr0 * 0.5 * (1 + Math.cos((Math.PI * e) / epochs));
}

export interface DemoRun {
  name: string;
  /** The model file, relative to the repository root, and where its module is generated. */
  model: string;
  outDir: string;
  optimizer: string;
  data: () => Split;
  /** How the model takes its targets (default one-hot rows). */
  labels?: Labels;
  /** A learning-rate schedule, the lr of each epoch (default: the model file's lr throughout). */
  lr?: (epoch: number) => number;
  batchSize: number;
  epochs: number;
  output: string;
  /** Held-out accuracy to reach. */
  target: number;
  color: string;
}

export const RUNS: DemoRun[] = [
  {
    name: "breast cancer",
    model: "models/seed-net.model.ts",
    outDir: "generated",
    optimizer: "SGD",
    data: () => loadBreastCancer({ seed: 0 }),
    batchSize: 32,
    epochs: 30,
    output: "yhat",
    target: 0.96,
    color: "#1f77b4",
  },
  {
    name: "digits",
    model: "examples/models/digits-adam.model.ts",
    // not committed: compiled on demand (node_modules/ is ignored by git)
    outDir: "node_modules/.cache/flatgrad-demo",
    optimizer: "Adam",
    data: () => loadDigits({ seed: 0 }),
    batchSize: 64,
    epochs: 20,
    output: "probs",
    target: 0.96,
    color: "#d62728",
  },
  {
    name: "digits CNN",
    model: "examples/models/digits-cnn.model.ts",
    outDir: "node_modules/.cache/flatgrad-demo",
    optimizer: "AdamW",
    // the same flat rows as the MLP's x, which the model reads as [64, 1, 8, 8]
    data: () => loadDigits({ seed: 0 }),
    labels: "int32",
    lr: cosine(0.01, 15), // the model file's lr, annealed to 0
    batchSize: 64,
    epochs: 15,
    output: "logits",
    target: 0.985,
    color: "#2ca02c",
  },
];

/** Compile the run's model (files are rewritten only when the compiler's output changed) and import it. */
export async function loadRun(run: DemoRun): Promise<{ createModel(options?: { seed?: number }): TrainableModel; compiled: string }> {
  const result = await compile({ models: [run.model], outDir: run.outDir, root: ROOT });
  if (result.diagnostics.length) throw new Error(result.diagnostics.map(formatDiagnostic).join("\n"));
  const file = result.files[0]!;
  const mod = (await import(pathToFileURL(path.resolve(ROOT, file.path)).href)) as { createModel(options?: { seed?: number }): TrainableModel };
  return { createModel: mod.createModel, compiled: `${file.path} (${file.status})` };
}

/** Train one run from seed 0. */
export async function train(run: DemoRun, onEpoch?: (log: EpochLog) => void, loaded?: Awaited<ReturnType<typeof loadRun>>): Promise<FitResult> {
  const { createModel } = loaded ?? (await loadRun(run));
  return fit(createModel({ seed: 0 }), run.data(), { dtype: "float32", batchSize: run.batchSize, epochs: run.epochs, seed: 0, output: run.output, labels: run.labels, lr: run.lr, onEpoch });
}

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;

/** The SVG of the runs' curves. */
export function curves(results: { run: DemoRun; result: FitResult }[]): string {
  const series = (pick: (l: EpochLog) => number) =>
    results.map(({ run, result }) => ({ label: `${run.name} (${run.optimizer})`, color: run.color, values: result.logs.map(pick) }));
  return lineChart("flatgrad: training on real data, compiled", [
    { title: "training loss (mean per epoch)", format: (v) => v.toFixed(2), series: series((l) => l.loss) },
    {
      title: "held-out accuracy",
      yMin: 0.8,
      yMax: 1,
      format: (v) => `${Math.round(100 * v)} %`,
      series: series((l) => l.testAccuracy),
      target: { value: 0.96, label: "target 96 %" },
    },
  ]);
}

export async function main(args: string[] = []): Promise<number> {
  // `npm run demo -- <name>`: one of the second-order examples (examples/secondOrder.ts) or the
  // sequence examples (examples/sequence.ts)
  if (args.length) {
    const { EXAMPLES: secondOrder } = await import("./secondOrder.js");
    const { SEQUENCE_EXAMPLES } = await import("./sequence.js");
    const EXAMPLES = { ...secondOrder, ...SEQUENCE_EXAMPLES };
    const run = EXAMPLES[args[0]!];
    if (!run || args.length > 1) {
      console.error(`usage: npm run demo [-- <${Object.keys(EXAMPLES).join(" | ")}>]`);
      return 2;
    }
    return run();
  }
  const tty = process.stdout.isTTY === true;
  const results: { run: DemoRun; result: FitResult }[] = [];
  let ok = true;
  for (const run of RUNS) {
    const t0 = performance.now();
    const loaded = await loadRun(run);
    const { compiled } = loaded;
    console.log(`${run.name}: ${run.model} → ${compiled}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const result = await train(run, (l) => {
      const line =
        `  ${run.name} · ${run.optimizer}  epoch ${String(l.epoch).padStart(2)}/${l.epochs}  loss ${l.loss.toFixed(4)}  ` +
        `train ${pct(l.trainAccuracy).padStart(7)}  held-out ${pct(l.testAccuracy).padStart(7)}  ${Math.round(l.stepsPerSecond).toLocaleString("en-US")} steps/s`;
      if (tty) process.stdout.write(`\r${line}\x1b[K`);
      else console.log(line);
    }, loaded);
    if (tty) process.stdout.write("\n");
    const data = run.data().test;
    const reached = result.accuracy >= run.target;
    ok &&= reached;
    console.log(
      `${run.name}: held-out accuracy ${pct(result.accuracy)} (${Math.round(result.accuracy * data.rows)}/${data.rows}, target ${pct(run.target)}: ${reached ? "reached" : "MISSED"}), ` +
        `${result.steps} steps in ${result.seconds.toFixed(2)} s\n`,
    );
    results.push({ run, result });
  }
  const out = path.join(ROOT, "docs", "training-curves.svg");
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, curves(results));
  console.log(`curves: ${path.relative(process.cwd(), out) || out}`);
  return ok ? 0 : 1;
}
