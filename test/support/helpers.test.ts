/** The comparison helpers every numeric test relies on: a wrong result must never look close. */
import { describe, expect, it } from "vitest";
import { maxRelErr, scaledErr } from "./helpers.js";

describe("maxRelErr and scaledErr", () => {
  it("measure the largest error", () => {
    expect(maxRelErr([1, 2, 4], [1, 2, 5])).toBeCloseTo(0.2, 15);
    expect(scaledErr([1, 2, 4], [1, 2, 5])).toBeCloseTo(0.2, 15);
    expect(maxRelErr([0, 1e-13], [0, 0], 1e-12)).toBeCloseTo(0.1, 15);
  });

  it("throw when the result is shorter or longer than the reference", () => {
    for (const f of [maxRelErr, scaledErr]) {
      expect(() => f([1, 2], [1, 2, 3])).toThrow(/the result has 2 values but the reference has 3/);
      expect(() => f([1, 2, 3], [1, 2])).toThrow(/the result has 3 values but the reference has 2/);
      expect(() => f(new Float32Array(0), [0])).toThrow(/has 0 values/);
    }
  });

  it("are NaN (below no tolerance) when an element is NaN", () => {
    for (const f of [maxRelErr, scaledErr]) {
      expect(f([NaN, 1], [1, 1])).toBeNaN();
      expect(f([1, NaN], [1, 1])).toBeNaN();
    }
  });
});
