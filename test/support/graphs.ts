/** Small IR graphs for tests of one stage: build, bind sample values, compare through the interpreter. */
import type { Builder } from "../../src/dsl/builder.js";
import { buildModel } from "../../src/front/build.js";
import { defineModel } from "../../src/index.js";
import type { Graph, Node } from "../../src/ir/graph.js";
import { size } from "../../src/ir/shape.js";
import { interpret } from "../../src/interp/interp.js";
import { rng } from "./helpers.js";

/** The graph of `build(g)` as the front end gives it (no pass has run). */
export function graphOf(build: (g: Builder) => Node | void, dtype: "float32" | "float64" = "float64"): Graph {
  return buildModel(defineModel({ dtype, build }), "m").graph;
}

/** Values in [−2, 2) for every input and param of `g`, from `seed`. */
export function sampleValues(g: Graph, seed = 1) {
  const rand = rng(seed);
  const fill = (m: ReadonlyMap<string, Node>) => Object.fromEntries([...m].map(([k, n]) => [k, Float64Array.from({ length: size(n.shape) }, () => rand() * 4 - 2)]));
  return { inputs: fill(g.inputs), params: fill(g.params) };
}

/** Outputs, loss and gradients of `g` at `values`, every root as one flat list in a fixed order (for comparing two graphs). */
export function rootValues(g: Graph, values: ReturnType<typeof sampleValues>): { name: string; values: Float64Array }[] {
  const r = interpret(g, values.inputs, values.params);
  return [
    ...Object.entries(r.outputs).map(([k, v]) => ({ name: `output ${k}`, values: v })),
    ...(r.loss === undefined ? [] : [{ name: "loss", values: Float64Array.of(r.loss) }]),
    ...Object.entries(r.grads).map(([k, v]) => ({ name: `grad ${k}`, values: v })),
  ];
}
