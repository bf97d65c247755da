/** The generated module checks its entry points: never a silent NaN from an out-of-bounds read. */
import { describe, expect, it } from "vitest";
import { interpret } from "../../src/interp/interp.js";
import { compileAndLoad, scaledErr } from "../support/helpers.js";

describe("generated entry points", async () => {
  const { mod, graph } = await compileAndLoad(
    {
      build(g) {
        const x = g.input("x", [4, 3]);
        const y = g.input("y", [4, 1]);
        const z = g.linear(x, g.param("W", [1, 3]), g.param("b", [1]));
        g.output("p", g.sigmoid(z));
        return g.bceWithLogits(z, y);
      },
    },
    "entry",
  );
  const m = mod.createModel();
  const x = new Float32Array(12);
  const y = new Float32Array(4);

  it("a missing input names the input and the expected type and length", () => {
    expect(() => m.lossAndGrad({ x })).toThrow('entry: missing input "y" (a Float32Array of length 4)');
  });
  it("a wrong length names the input, the length given and the expected one", () => {
    expect(() => m.lossAndGrad({ x: new Float32Array(11), y })).toThrow('entry: input "x" has length 11, expected 12');
  });
  it("a wrong array type is rejected, not converted", () => {
    expect(() => m.lossAndGrad({ x: new Float64Array(12), y })).toThrow('entry: input "x" must be a Float32Array of length 12');
    expect(() => m.lossAndGrad({ x: Array(12).fill(0) as unknown as Float32Array, y })).toThrow('input "x" must be a Float32Array');
  });
  it("forward needs only the inputs the outputs use, and ignores extra keys", () => {
    const xs = Float32Array.from({ length: 12 }, (_, i) => (i % 5) / 2 - 1);
    const p = Float32Array.from(m.forward({ x: xs, extra: new Float32Array(1) } as Record<string, Float32Array>).p!);
    const ref = interpret(graph, { x: xs, y }, { W: Float64Array.from(m.params.W!), b: Float64Array.from(m.params.b!) }).outputs.p!;
    expect(new Set(ref).size, "the rows differ").toBe(4);
    expect(scaledErr(p, ref)).toBeLessThan(1e-6); // float32 against float64
    expect(m.forward({ x: xs }).p).toEqual(p);
    expect(() => m.forward({})).toThrow('missing input "x"');
  });
  it("a non-finite learning rate is rejected before anything changes", () => {
    const before = Object.fromEntries(Object.entries(m.params).map(([k, v]) => [k, Float32Array.from(v)]));
    expect(Object.keys(before)).toEqual(["W", "b"]);
    for (const lr of [NaN, Infinity, -Infinity]) expect(() => m.step({ x, y }, { lr })).toThrow(/lr must be a finite number/);
    expect(m.params).toEqual(before);
    // x = 0, so z = b = 0 (zeros init, untouched) and the loss is softplus(0) = ln 2
    expect(m.step({ x, y }, { lr: 0.1 })).toBeCloseTo(Math.LN2, 6);
  });
});
