/**
 * A dtype per tensor: sources take the model's dtype (or int32 for a declared input), every op
 * derives its dtype from its inputs, an int32 operand where an op takes floats is FG165 at the
 * op's call, and the differentiator and the interpreter treat int32 nodes as integers.
 */
import { describe, expect, it } from "vitest";
import { compileDefinition } from "../../src/compile.js";
import { defineModel, type ModelDefinition } from "../../src/index.js";
import { buildModel } from "../../src/front/build.js";
import { BYTES, nodeKey, topo, type Node } from "../../src/ir/graph.js";
import { FlatgradError } from "../../src/ir/shape.js";
import { interpret } from "../../src/interp/interp.js";
import { runPipeline } from "../../src/passes/pipeline.js";

const build = (def: ModelDefinition) => buildModel(defineModel(def), "t").graph;

/** The FlatgradError a definition's build throws (fails the test when it builds). */
function buildError(def: ModelDefinition): FlatgradError {
  try {
    build(def);
  } catch (e) {
    if (e instanceof FlatgradError) return e;
    throw e;
  }
  throw new Error("the model built without an error");
}

describe("dtypes of nodes", () => {
  it("params, constants and inputs take the model's dtype; an input may be int32", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const g = build({
        dtype,
        build(g) {
          const x = g.input("x", [4, 3]);
          const labels = g.input("labels", [4], { dtype: "int32" });
          const W = g.param("W", [2, 3]);
          g.output("labels", labels);
          return g.mean(g.mul(g.linear(x, W), 2));
        },
      });
      expect(g.inputs.get("x")!.dtype).toBe(dtype);
      expect(g.inputs.get("labels")!.dtype).toBe("int32");
      expect(g.params.get("W")!.dtype).toBe(dtype);
      // every node the loss reaches is a float of the model's dtype (constants included)
      const ops = topo([g.loss!]);
      expect(ops.some((n) => n.op === "constant")).toBe(true);
      for (const n of ops) expect(n.dtype, `${n.op}#${n.id}`).toBe(dtype);
      expect(g.outputs.get("labels")).toBe(g.inputs.get("labels"));
    }
    expect(BYTES).toEqual({ float32: 4, float64: 8, int32: 4 });
  });

  it("the model's own dtype given explicitly is the same input as the default", () => {
    const g = build({
      dtype: "float64",
      build(g) {
        const x = g.input("x", [2], { dtype: "float64" });
        expect(x.attrs).toEqual({ name: "x", shape: [2] });
        g.output("y", g.exp(x));
      },
    });
    expect(g.inputs.get("x")!.dtype).toBe("float64");
  });

  it("the interning key holds op, input ids, attributes and dtype (one function)", () => {
    const g = build({ build: (g) => void g.output("y", g.relu(g.input("x", [2]))) });
    const y = g.outputs.get("y")!;
    expect(y.key).toBe(nodeKey("relu", y.inputs, {}, "float32"));
    expect(nodeKey("input", [], { name: "x" }, "int32")).not.toBe(nodeKey("input", [], { name: "x" }, "float32"));
    expect(g.ctx.find("relu", y.inputs)).toBe(y);
  });
});

describe("int32 operands (FG165)", () => {
  const labels = (g: Parameters<ModelDefinition["build"]>[0]) => g.input("labels", [4, 3], { dtype: "int32" });
  const cases: [string, ModelDefinition["build"], string][] = [
    ["unary", (g) => void g.output("y", g.exp(labels(g))), "exp: x is an int32 tensor [4,3]"],
    ["binary, second operand", (g) => void g.output("y", g.add(g.input("x", [4, 3]), labels(g))), "add: b is an int32 tensor [4,3]"],
    ["binary with a number", (g) => void g.output("y", g.mul(labels(g), 2)), "mul: a is an int32 tensor [4,3]"],
    ["reduction", (g) => void g.output("y", g.sum(labels(g), 1)), "sum: x is an int32 tensor [4,3]"],
    ["matmul", (g) => void g.output("y", g.matmul(g.input("x", [2, 4]), labels(g))), "matmul: b is an int32 tensor [4,3]"],
    ["movement", (g) => void g.output("y", g.transpose(labels(g))), "transpose: x is an int32 tensor [4,3]"],
    ["a composite names itself", (g) => void g.output("y", g.linear(labels(g), g.param("W", [2, 3]))), "linear: x is an int32 tensor [4,3]"],
    ["a loss names its operand", (g) => g.softmaxCrossEntropy(g.param("z", [4, 3]), labels(g)), "softmaxCrossEntropy: targetProbs is an int32 tensor [4,3]"],
  ];
  it.each(cases)("%s", (_name, body, message) => {
    const e = buildError({ build: body });
    expect(e.code).toBe("FG165");
    expect(e.message).toContain(message);
    expect(e.message).toContain("takes only float tensors");
    // attributed to the op's call in this file, like the shape errors
    expect(e.site?.file).toMatch(/dtype\.test\.ts$/);
  });

  it("the dtype rule is the backstop where no builder call lifts the operand", () => {
    const g = build({ build: (g) => void g.output("labels", g.input("labels", [3], { dtype: "int32" })) });
    const e = (() => {
      try {
        g.ctx.make("neg", [g.inputs.get("labels")!]);
      } catch (err) {
        return err as FlatgradError;
      }
    })();
    expect(e?.code).toBe("FG165");
    expect(e?.message).toContain("neg: x is an int32 tensor");
  });
});

describe("input options (FG166)", () => {
  it.each([
    [[{ dtype: "int64" }], 'input "x": dtype must be "int32" or the model\'s dtype "float32", got "int64"'],
    [[{ dtype: "float64" }], 'input "x": dtype must be "int32" or the model\'s dtype "float32", got "float64"'],
    [[{ dtpye: "int32" }], 'input "x": unknown option "dtpye" (known: dtype)'],
    [["int32"], 'input "x": options must be an object like { dtype: "int32" }, got "int32"'],
    [[null], 'input "x": options must be an object like { dtype: "int32" }, got null'],
  ])("%j", (opts, message) => {
    const e = buildError({ build: (g) => void g.output("y", (g.input as (...a: unknown[]) => Node)("x", [2], ...opts)) });
    expect(e.code).toBe("FG166");
    expect(e.message).toBe(message);
  });
});

describe("int32 tensors through the passes and the interpreter", () => {
  const def: ModelDefinition = {
    dtype: "float64",
    build(g) {
      const x = g.input("x", [3, 2]);
      g.input("unused", [3], { dtype: "int32" });
      const labels = g.input("labels", [3], { dtype: "int32" });
      const W = g.param("W", [1, 2]);
      g.output("labels", labels);
      return g.mean(g.square(g.linear(x, W)));
    },
  };

  it("compile through every pass; the differentiator gives params gradients and nothing else", () => {
    const g = runPipeline(build(def));
    expect([...g.grads.keys()]).toEqual(["W"]);
    expect(g.grads.get("W")!.dtype).toBe("float64");
    expect(g.outputs.get("labels")!.dtype).toBe("int32");
    for (const n of topo([...g.grads.values()])) expect(n.dtype, `${n.op}#${n.id}`).toBe("float64");
  });

  it("the interpreter passes int32 values through exactly and rejects values that are not int32", () => {
    const g = runPipeline(build(def));
    const x = [1, 2, 3, 4, 5, 6];
    const r = interpret(g, { x, labels: [7, -2, 2147483647], unused: [0, 0, 0] }, { W: [0.5, -1] });
    expect([...r.outputs.labels!]).toEqual([7, -2, 2147483647]);
    // loss = mean((x·Wᵀ)²) with W = [0.5, −1]: rows give −1.5, −2.5, −3.5
    expect(r.loss).toBeCloseTo((1.5 ** 2 + 2.5 ** 2 + 3.5 ** 2) / 3, 12);
    expect(() => interpret(g, { x, labels: [1.5, 0, 0], unused: [0, 0, 0] }, { W: [0, 0] })).toThrow('int32 input "labels" holds 1.5 at 0');
    expect(() => interpret(g, { x, labels: [2 ** 31, 0, 0], unused: [0, 0, 0] }, { W: [0, 0] })).toThrow("not an int32 value");
  });

  it("an int32 input that nothing uses compiles to a module", async () => {
    const out = await compileDefinition(
      defineModel({
        build(g) {
          g.input("ids", [4], { dtype: "int32" });
          const x = g.input("x", [4, 2]);
          return g.mean(g.square(g.linear(x, g.param("W", [1, 2]))));
        },
      }),
      "int-unused",
      "int-unused.model.ts",
    );
    expect(out.text).toContain("export function createModel");
  });
});
