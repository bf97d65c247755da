/** The generated module checks its entry points: never a silent NaN from an out-of-bounds read. */
import { describe, expect, it } from "vitest";
import { compileAndLoad } from "../support/helpers.js";

describe("generated entry points", async () => {
  const { mod } = await compileAndLoad(
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
    expect(m.forward({ x, extra: new Float32Array(1) } as Record<string, Float32Array>).p!.length).toBe(4);
    expect(() => m.forward({})).toThrow('missing input "x"');
  });
  it("a non-finite learning rate is rejected before anything changes", () => {
    const before = Float32Array.from(m.params.W!);
    for (const lr of [NaN, Infinity, -Infinity]) expect(() => m.step({ x, y }, { lr })).toThrow(/lr must be a finite number/);
    expect(m.params.W).toEqual(before);
    expect(Number.isFinite(m.step({ x, y }, { lr: 0.1 }))).toBe(true);
  });
});
