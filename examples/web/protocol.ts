/** The messages between the page and the training Worker. */

export type ToWorker = { type: "predict"; pixels: Float32Array };

export type FromWorker =
  | { type: "ready"; engine: "wasm-simd" | "js"; trainRows: number; testRows: number }
  /** Every few steps: the mean loss since the last report, and steps per second of model.step alone. */
  | { type: "progress"; step: number; epoch: number; loss: number; stepsPerSecond: number }
  /** After every epoch: accuracy on the held-out rows. */
  | { type: "epoch"; epoch: number; step: number; accuracy: number }
  | { type: "done"; steps: number; accuracy: number; stepsPerSecond: number }
  | { type: "prediction"; probs: number[] }
  | { type: "error"; message: string };

/** Training length: epochs over the 80 % training split, batches of 64. */
export const EPOCHS = 40;
