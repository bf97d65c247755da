/**
 * The training Worker: the generated module (its WebAssembly SIMD kernels compiled with
 * createModelAsync, off the page's thread) trains on the digits in chunks of ~20 ms, reporting
 * the loss, steps per second and held-out accuracy, and answers prediction requests between chunks.
 */
import csv from "../../data/digits.csv?raw";
import { createModelAsync, spec } from "../../generated/digits-mlp.ts";
import { parseDigits } from "./digits.ts";
import { EPOCHS, type FromWorker, type ToWorker } from "./protocol.ts";

/** The Worker's global scope, typed locally (the page's tsconfig has the DOM lib, not the WebWorker one). */
const scope = self as unknown as { postMessage(m: FromWorker): void; onmessage: ((e: { data: ToWorker }) => void) | null };
const post = (m: FromWorker) => scope.postMessage(m);

const [batch, features] = spec.inputs.x as [number, number];
const classes = spec.inputs.y[1]!;

async function main() {
  const { train, test } = parseDigits(csv);
  const model = await createModelAsync({ seed: 0 });
  post({ type: "ready", engine: model.engine, trainRows: train.rows, testRows: test.rows });

  const x = new Float32Array(batch * features);
  const y = new Float32Array(batch * classes);
  const queue: ToWorker[] = [];
  scope.onmessage = (e) => queue.push(e.data);

  const argmax = (a: ArrayLike<number>, at: number) => {
    let best = 0;
    for (let c = 1; c < classes; c++) if (a[at + c]! > a[at + best]!) best = c;
    return best;
  };
  const accuracy = () => {
    let right = 0;
    for (let start = 0; start < test.rows; start += batch) {
      const n = Math.min(batch, test.rows - start);
      x.fill(0);
      x.set(test.x.subarray(start * features, (start + n) * features));
      const probs = model.forward({ x }).probs;
      for (let r = 0; r < n; r++) if (argmax(probs, r * classes) === test.labels[start + r]) right++;
    }
    return right / test.rows;
  };
  const answer = () => {
    for (const m of queue.splice(0)) {
      x.fill(0);
      x.set(m.pixels);
      const probs = model.forward({ x }).probs;
      post({ type: "prediction", probs: Array.from(probs.subarray(0, classes)) });
    }
  };

  const rand = (() => {
    let s = 12345;
    return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  })();
  const perEpoch = Math.floor(train.rows / batch);
  const order = new Int32Array(train.rows).map((_, i) => i);
  let step = 0;
  let stepTime = 0;
  let reportLoss = 0;
  let reportSteps = 0;
  let reportTime = 0;
  for (let epoch = 1; epoch <= EPOCHS; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let b = 0; b < perEpoch; ) {
      // a chunk of ~20 ms, then yield so that prediction requests are answered while training
      const chunkEnd = performance.now() + 20;
      while (b < perEpoch && performance.now() < chunkEnd) {
        y.fill(0);
        for (let r = 0; r < batch; r++) {
          const row = order[b * batch + r]!;
          x.set(train.x.subarray(row * features, (row + 1) * features), r * features);
          y[r * classes + train.labels[row]!] = 1;
        }
        const t0 = performance.now();
        reportLoss += model.step({ x, y });
        const dt = performance.now() - t0;
        stepTime += dt;
        reportTime += dt;
        reportSteps++;
        step++;
        b++;
      }
      post({ type: "progress", step, epoch, loss: reportLoss / reportSteps, stepsPerSecond: reportSteps / (reportTime / 1000) });
      reportLoss = reportSteps = reportTime = 0;
      answer();
      await new Promise((r) => setTimeout(r, 0));
    }
    post({ type: "epoch", epoch, step, accuracy: accuracy() });
  }
  post({ type: "done", steps: step, accuracy: accuracy(), stepsPerSecond: step / (stepTime / 1000) });
  // keep answering predictions
  scope.onmessage = (e) => {
    queue.push(e.data);
    answer();
  };
  answer();
}

main().catch((e: unknown) => post({ type: "error", message: e instanceof Error ? (e.stack ?? e.message) : String(e) }));
