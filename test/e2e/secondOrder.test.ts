/**
 * The second-order examples (`npm run demo -- pinn | gradient-penalty | hvp`): the PINN solves
 * u'' + u = 0 to within 1e-2 of sin t from its residual alone, the simplifier shrinks its graph,
 * and the Hessian-vector product output agrees with finite differences of the gradient.
 */
import { describe, expect, it } from "vitest";
import { EXAMPLES, nodeCounts, PINN, trainPinn } from "../../examples/secondOrder.js";

describe("second-order examples", () => {
  it("pinn: the network trained on the residual of u'' + u = 0 is within 1e-2 of sin t everywhere on [0, π/2]", async () => {
    const r = await trainPinn();
    expect(r.u.length).toBe(PINN.grid);
    expect(r.maxErr).toBeLessThan(1e-2);
    // the loss went down by orders of magnitude
    expect(r.finalLoss).toBeLessThan(r.losses[0]! / 100);
  }, 300_000);

  it("pinn: simplification removes nodes of the second-order graph", async () => {
    const c = await nodeCounts(PINN.model);
    expect(c.simplified).toBeLessThan(c.differentiated);
  });

  it("hvp: H·v as an output equals central differences of the generated gradient along v (exit 0)", async () => {
    expect(await EXAMPLES.hvp!()).toBe(0);
  }, 120_000);
});
