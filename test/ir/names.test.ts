/** Names: identifiers, or dotted paths of them (`bn1.running_mean`, a PyTorch state_dict key). */
import { describe, expect, it } from "vitest";
import { compileAndLoad } from "../support/helpers.js";
import { checkName, nameProblem } from "../../src/ir/names.js";
import { interpret } from "../../src/interp/interp.js";

describe("dotted names", () => {
  // numeric parts, as nn.Sequential names its children: features.0.weight, and 0.weight at the top
  it.each(["bn1.running_mean", "conv1.weight", "layer1.conv_0.bias", "a.b.c.d", "_x._y", "x", "features.0.weight", "layer1.10.bn.running_var", "0.weight", "1.2"])("accepts %s", (name) => {
    expect(nameProblem(name)).toBeUndefined();
    expect(checkName("param", name)).toBe(name);
  });

  it.each([
    [".a", "it starts with a dot", "FG171"],
    ["a.", "it ends with a dot", "FG171"],
    ["a..b", "it has two dots in a row", "FG171"],
    ["a.1b", 'the part "1b" starts with a digit but is not a number', "FG171"],
    ["features.01.weight", 'the part "01" is a number with a leading zero', "FG171"],
    ["a.b-c", 'the character "-" (U+002D) is not allowed', "FG171"],
    ["a.-1", 'the character "-" (U+002D) is not allowed', "FG171"],
    ["1a.b", 'the part "1a" starts with a digit but is not a number', "FG171"],
    ["0", "a name must not start with a digit", "FG110"],
    [`a.${"b".repeat(63)}`, "it is 65 characters long", "FG110"],
  ])("rejects %j: %s (%s)", (name, why, code) => {
    expect(nameProblem(name)).toContain(why);
    expect(() => checkName("buffer", name)).toThrow(`buffer: invalid ${code === "FG171" ? "dotted name" : "name"}`);
    expect(() => checkName("buffer", name)).toThrow(expect.objectContaining({ code }));
  });

  it("keeps optimizer.* for the optimizer's checkpoint keys (FG173), for params and buffers", () => {
    for (const kind of ["param", "buffer"]) expect(() => checkName(kind, "optimizer.step")).toThrow(expect.objectContaining({ code: "FG173" }));
    expect(checkName("param", "optimizer")).toBe("optimizer");
    expect(checkName("param", "optim.step")).toBe("optim.step");
    expect(checkName("output", "optimizer.step")).toBe("optimizer.step");
  });

  it("numeric parts compile: nn.Sequential's keys, sanitised locals, and saveParams/saveState/loadParams round trips", async () => {
    const { mod, text } = await compileAndLoad(
      {
        optimizer: { type: "adam", lr: 0.01 },
        build(g) {
          const x = g.input("x", [2, 3]);
          const h = g.relu(g.linear(x, g.param("features.0.weight", [4, 3]), g.param("features.0.bias", [4])));
          const z = g.linear(h, g.param("features.2.weight", [2, 4]), g.param("features.2.bias", [2], { init: "uniform" }));
          g.output("0.z", z);
          return g.mean(g.square(z));
        },
      },
      "sequential",
    );
    expect(Object.keys(mod.spec.params)).toEqual(["features.0.weight", "features.0.bias", "features.2.weight", "features.2.bias"]);
    expect(text).toContain('"features.0.weight": features_0_weight,');
    const m = mod.createModel({ seed: 4 });
    const x = Float32Array.from([1, -2, 0.5, 3, 0, -1]);
    m.step({ x });
    m.step({ x });
    const saved = m.saveParams();
    const state = (m as unknown as { saveState(): Uint8Array }).saveState();
    const header = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + new DataView(b.buffer, b.byteOffset).getUint32(0, true))));
    expect(Object.keys(header(saved)).filter((k) => k !== "__metadata__")).toEqual(["features.0.weight", "features.0.bias", "features.2.weight", "features.2.bias"]);
    // optimizer.<param>.<state>: the state is the last part, the param the parts between
    expect(Object.keys(header(state))).toContain("optimizer.features.0.weight.exp_avg");
    const other = mod.createModel({ seed: 9 });
    other.loadParams(saved);
    for (const k of Object.keys(m.params)) expect([...other.params[k]!], k).toEqual([...m.params[k]!]);
    (other as unknown as { loadState(b: Uint8Array): void }).loadState(state);
    expect(other.step({ x })).toBe(m.step({ x }));
    for (const k of Object.keys(m.params)) expect([...other.params[k]!], k).toEqual([...m.params[k]!]);
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
