/**
 * Buffers in the IR: `g.buffer` declares state that is not trained, `b.assign` gives it a new
 * value that only training computes, and the graph, the passes, the verifier and the
 * interpreter carry both (no gradient ever flows into a buffer).
 */
import { describe, expect, it } from "vitest";
import type { Builder } from "../../src/dsl/builder.js";
import { buildModel } from "../../src/front/build.js";
import { defineModel, type ModelDefinition } from "../../src/index.js";
import { mapGraph, roots, topo, withInputs } from "../../src/ir/graph.js";
import { FlatgradError } from "../../src/ir/shape.js";
import { interpret } from "../../src/interp/interp.js";
import { runPipeline } from "../../src/passes/pipeline.js";
import { verify } from "../../src/passes/verify.js";

const build = (def: ModelDefinition) => buildModel(defineModel(def), "t");

function buildError(body: (g: Builder) => unknown): FlatgradError {
  try {
    build({ build: body as ModelDefinition["build"] });
  } catch (e) {
    if (e instanceof FlatgradError) return e;
    throw e;
  }
  throw new Error("the model built without an error");
}

/** A batchNorm-like model: normalise with the running mean, update it from the batch mean. */
const bnLike: ModelDefinition = {
  dtype: "float64",
  build(g) {
    const x = g.input("x", [4, 3]);
    const mean = g.buffer("bn1.running_mean", [3]);
    const W = g.param("W", [2, 3]);
    // running ← 0.9·running + 0.1·batch mean
    g.assign(mean, g.add(g.mul(mean, 0.9), g.mul(g.mean(x, 0), 0.1)));
    const z = g.linear(g.sub(x, mean), W);
    g.output("z", z);
    return g.mean(g.square(z));
  },
};

describe("buffers", () => {
  it("are declared sources of the model's dtype with their init, and their updates are roots", () => {
    const { graph, bufferInit } = build(bnLike);
    const mean = graph.buffers.get("bn1.running_mean")!;
    expect(mean.op).toBe("buffer");
    expect(mean.dtype).toBe("float64");
    expect([...mean.shape]).toEqual([3]);
    expect(bufferInit.get("bn1.running_mean")).toEqual({ init: "zeros" });
    expect([...graph.updates.keys()]).toEqual(["bn1.running_mean"]);
    expect(roots(graph)).toContain(graph.updates.get("bn1.running_mean"));
    const { bufferInit: ones } = build({ build: (g) => void g.output("v", g.buffer("v", [2], { init: "ones" })) });
    expect(ones.get("v")).toEqual({ init: "ones" });
  });

  it("take no gradient: the pipeline differentiates the params only, and updates survive every pass", () => {
    const g = runPipeline(build(bnLike).graph);
    expect([...g.grads.keys()]).toEqual(["W"]);
    expect([...g.updates.keys()]).toEqual(["bn1.running_mean"]);
    expect(topo([...g.updates.values()]).some((n) => n.op === "buffer")).toBe(true);
    // mapGraph rewrites the update roots like the others
    const mapped = mapGraph(g, (n, ins) => withInputs(g.ctx, n, ins));
    expect(mapped.updates.get("bn1.running_mean")).toBe(g.updates.get("bn1.running_mean"));
  });

  it("the interpreter reads buffers by name and returns the updates (the buffers themselves unchanged)", () => {
    const g = runPipeline(build(bnLike).graph);
    const x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    const running = Float64Array.from([1, -1, 0.5]);
    const r = interpret(g, { x }, { W: [1, 0, 0, 0, 1, 0] }, { "bn1.running_mean": running });
    // batch mean over axis 0: [5.5, 6.5, 7.5]
    const want = [0.9 * 1 + 0.1 * 5.5, 0.9 * -1 + 0.1 * 6.5, 0.9 * 0.5 + 0.1 * 7.5];
    r.updates["bn1.running_mean"]!.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 12));
    expect([...running]).toEqual([1, -1, 0.5]);
    // z = (x − running)·Wᵀ reads the old value: row 0 gives [1 − 1, 2 + 1]
    expect([...r.outputs.z!.slice(0, 2)]).toEqual([0, 3]);
    expect(() => interpret(g, { x }, { W: [0, 0, 0, 0, 0, 0] })).toThrow('no value for buffer "bn1.running_mean"');
  });

  it("verify checks each update against its buffer", () => {
    const g = runPipeline(build(bnLike).graph);
    const wrong = g.ctx.make("constant", [], { values: [0], shape: [2] });
    expect(() => verify({ ...g, updates: new Map([["bn1.running_mean", wrong]]) })).toThrow("the update of buffer bn1.running_mean is float64[2], the buffer float64[3]");
    expect(() => verify({ ...g, updates: new Map([["nope", wrong]]) })).toThrow("the buffer missing");
  });

  it("share one namespace with inputs and params (FG111)", () => {
    const e = buildError((g) => {
      g.param("bn.weight", [3]);
      g.buffer("bn.weight", [3]);
    });
    expect(e.code).toBe("FG111");
    expect(e.message).toContain('buffer: duplicate name "bn.weight": param "bn.weight" is already declared');
    expect(e.message).toContain("inputs, params and buffers share one namespace");
    const e2 = buildError((g) => {
      g.buffer("s", [3]);
      g.input("s", [3]);
    });
    expect(e2.message).toContain('input: duplicate name "s": buffer "s" is already declared');
  });

  it("names and inits are checked as params' are (FG110, FG171, FG164, FG160)", () => {
    expect(buildError((g) => g.buffer("bn-mean", [3])).code).toBe("FG110");
    expect(buildError((g) => g.buffer("bn..mean", [3])).code).toBe("FG171");
    const init = buildError((g) => g.buffer("m", [3], { init: "glorot" as "zeros" }));
    expect([init.code, init.message]).toEqual(["FG164", 'buffer "m": unknown init "glorot" (known: zeros, ones, xavier, he, normal, uniform): did you mean "xavier"?']);
    expect(buildError((g) => g.buffer("m", [0])).code).toBe("FG160");
  });

  it("assign: a buffer, once, with the buffer's shape and dtype (FG113, FG148), at the call's line", () => {
    const notBuffer = buildError((g) => g.assign(g.param("W", [3]), g.constant(0, [3])));
    expect([notBuffer.code, notBuffer.message]).toEqual(["FG113", "assign: the target must be a buffer declared with g.buffer(name, shape), got a param tensor [3]"]);
    expect(notBuffer.site?.file).toMatch(/buffers\.test\.ts$/);
    const twice = buildError((g) => {
      const m = g.buffer("m", [3]);
      g.assign(m, g.mul(m, 0.5));
      g.assign(m, g.mul(m, 0.25));
    });
    expect([twice.code, twice.message]).toEqual(["FG113", 'assign: buffer "m" already has an update: a buffer is assigned at most once per step']);
    const shape = buildError((g) => g.assign(g.buffer("m", [3]), g.constant(0, [1, 3])));
    expect([shape.code, shape.message]).toEqual(["FG148", 'assign: buffer "m" is float32 [3] but the value is float32 [1,3]: they must be equal (no broadcasting)']);
    const int = buildError((g) => g.assign(g.buffer("m", [3]), g.input("ids", [3], { dtype: "int32" })));
    expect(int.code).toBe("FG165");
    expect(int.message).toContain("assign: value is an int32 tensor [3]");
  });

  it("the code generator reads zero-initialised buffers (updates, inits and checkpoints: test/emit/buffers.test.ts)", async () => {
    const { mod } = await import("../support/helpers.js").then((h) =>
      h.compileAndLoad({ dtype: "float64", build: (g) => void g.output("y", g.add(g.input("x", [3]), g.buffer("b.m", [3]))) }, "buffer-read"),
    );
    expect([...mod.createModel().forward({ x: Float64Array.from([1, 2, 3]) }).y!]).toEqual([1, 2, 3]);
  });
});
