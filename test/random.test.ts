/**
 * Differential test: random well-typed graphs, compiled, against the interpreter on outputs,
 * loss, gradients and one SGD step, in float64. The base seed is printed; reproduce a run with
 * FLATGRAD_SEED=<seed> npx vitest run test/random.test.ts
 */
import { describe, expect, it } from "vitest";
import { interpret } from "../src/interp/interp.js";
import { compileAndLoad, maxRelErr, rng } from "./helpers.js";
import { randomGraph } from "./randomGraph.js";

const BASE = Number(process.env.FLATGRAD_SEED ?? 20261127);
const RUNS = Number(process.env.FLATGRAD_RUNS ?? 60);

describe(`random graphs (FLATGRAD_SEED=${BASE})`, () => {
  for (let k = 0; k < RUNS; k++) {
    const seed = BASE + k;
    it(`graph seed ${seed}`, async () => {
      const { mod, graph } = await compileAndLoad(
        { dtype: "float64", optimizer: { type: "sgd", lr: 0.05 }, build: (g) => randomGraph(g, rng(seed), 2 + (seed % 20)) },
        `random-${seed}`,
      );
      const rand = rng(seed ^ 0x5eed);
      const m = mod.createModel();
      for (const p of Object.values(m.params)) for (let i = 0; i < p.length; i++) p[i] = (rand() < 0.5 ? -1 : 1) * (0.1 + rand());
      const inputs: Record<string, Float64Array> = {};
      for (const [name, n] of graph.inputs) inputs[name] = Float64Array.from({ length: n.shape.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1);
      const params = Object.fromEntries(Object.entries(m.params).map(([k, v]) => [k, Float64Array.from(v)]));
      const ref = interpret(graph, inputs, params);
      expect(maxRelErr(m.forward(inputs).out!, ref.outputs.out!, 1e-9)).toBeLessThan(1e-9);
      const loss = m.step(inputs);
      expect(maxRelErr([loss], [ref.loss!], 1e-9)).toBeLessThan(1e-9);
      for (const [name, gv] of Object.entries(ref.grads)) {
        expect(maxRelErr(m.grads[name]!, gv, 1e-9), `d${name}`).toBeLessThan(1e-9);
        // the SGD step: p ← p − 0.05·dp
        expect(maxRelErr(m.params[name]!, params[name]!.map((v, i) => v - 0.05 * gv[i]!), 1e-9), `step ${name}`).toBeLessThan(1e-9);
      }
    });
  }
});
