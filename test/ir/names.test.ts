/** Names: identifiers, or dotted paths of them (`bn1.running_mean`, a PyTorch state_dict key). */
import { describe, expect, it } from "vitest";
import { compileAndLoad } from "../support/helpers.js";
import { checkName, nameProblem } from "../../src/ir/names.js";
import { interpret } from "../../src/interp/interp.js";

describe("dotted names", () => {
  it.each(["bn1.running_mean", "conv1.weight", "layer1.conv_0.bias", "a.b.c.d", "_x._y", "x"])("accepts %s", (name) => {
    expect(nameProblem(name)).toBeUndefined();
    expect(checkName("param", name)).toBe(name);
  });

  it.each([
    [".a", "it starts with a dot"],
    ["a.", "it ends with a dot"],
    ["a..b", "it has two dots in a row"],
    ["a.1b", 'the part "1b" starts with a digit'],
    ["layer1.0.weight", 'the part "0" starts with a digit'],
    ["a.b-c", 'the character "-" (U+002D) is not allowed'],
    ["1a.b", "a name must not start with a digit"],
    [`a.${"b".repeat(63)}`, "it is 65 characters long"],
  ])("rejects %j: %s", (name, why) => {
    expect(nameProblem(name)).toContain(why);
    expect(() => checkName("buffer", name)).toThrow(`buffer: invalid name`);
  });

  it("dotted input, param and output names compile and are keys of the generated module", async () => {
    const { mod, graph } = await compileAndLoad(
      {
        dtype: "float64",
        build(g) {
          const x = g.input("data.x", [2, 3]);
          const z = g.linear(x, g.param("fc1.weight", [4, 3]), g.param("fc1.bias", [4]));
          g.output("head.z", z);
          return g.mean(g.square(z));
        },
      },
      "dotted",
    );
    expect(Object.keys(mod.spec.params)).toEqual(["fc1.weight", "fc1.bias"]);
    expect(Object.keys(mod.spec.inputs)).toEqual(["data.x"]);
    const m = mod.createModel({ seed: 3 });
    const x = Float64Array.from([1, -2, 0.5, 3, 0, -1]);
    const params = Object.fromEntries(Object.entries(m.params).map(([k, v]) => [k, Float64Array.from(v)]));
    const ref = interpret(graph, { "data.x": x }, params);
    expect([...m.forward({ "data.x": x })["head.z"]!]).toEqual([...ref.outputs["head.z"]!]);
    expect(m.lossAndGrad({ "data.x": x })).toBeCloseTo(ref.loss!, 12);
    expect(Object.keys(m.grads)).toEqual(["fc1.weight", "fc1.bias"]);
  });
});
