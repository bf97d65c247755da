/**
 * The fixture project the bundler tests build: a model file that imports a file of its own
 * (sizes.ts), and an app that imports the generated module, creates the model with
 * createModelAsync and takes training steps, printing what it saw as JSON.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { tempProject } from "../support/helpers.js";

export const sizes = (hidden: number) => `export const hidden = ${hidden};\n`;

export const model = (lr: number) => `import { defineModel } from "flatgrad";
import { hidden } from "./sizes.js";

// 4 features → hidden ReLU → 2 logits: small, with matmuls, so the module carries SIMD kernels
export default defineModel({
  dtype: "float32",
  optimizer: { type: "sgd", lr: ${lr} },
  build(g) {
    const x = g.input("x", [8, 4]);
    const y = g.input("y", [8, 2]);
    const h = g.relu(g.linear(x, g.param("W1", [hidden, 4], { init: "he" }), g.param("b1", [hidden])));
    const logits = g.linear(h, g.param("W2", [2, hidden]), g.param("b2", [2]));
    g.output("probs", g.softmax(logits));
    return g.softmaxCrossEntropy(logits, y);
  },
});
`;

/** A model whose error is at a known line and column: the second linear's W has the wrong width. */
export const BROKEN = `import { defineModel } from "flatgrad";

export default defineModel({
  build(g) {
    const x = g.input("x", [8, 4]);
    return g.sum(g.linear(x, g.param("W", [2, 5])));
  },
});
`;
export const BROKEN_AT = { line: 6, col: 20 };

/** The app: train on a fixed batch (each row's class: the sign of its first feature), print the losses. */
export const MAIN = `import { createModel, createModelAsync, spec } from "../generated/tiny.ts";

const x = new Float32Array(32).map((_, i) => Math.sin(i * 1.7));
const y = new Float32Array(16);
for (let r = 0; r < 8; r++) y[r * 2 + (x[r * 4] > 0 ? 1 : 0)] = 1;

createModelAsync({ seed: 1 }).then((model) => {
  const same = createModel({ seed: 1 }).params.W1.every((v, i) => v === model.params.W1[i]);
  const first = model.step({ x, y });
  let last = first;
  for (let i = 0; i < 50; i++) last = model.step({ x, y });
  console.log(JSON.stringify({ name: spec.name, engine: model.engine, same, first, last }));
});
`;

export function fixtureProject(prefix: string): string {
  return tempProject(prefix, { "models/tiny.model.ts": model(0.5), "models/sizes.ts": sizes(8), "src/main.ts": MAIN });
}

export const read = (dir: string, file: string) => readFileSync(path.join(dir, file), "utf8");

/** Poll `f` every 100 ms until it gives a truthy value (or fail after `ms`). */
export async function until<T>(what: string, f: () => T | undefined | false, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
