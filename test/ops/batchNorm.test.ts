/**
 * batchNorm against PyTorch (test/fixtures/torch/make_batchnorm.py, torch 1.13, float64): one
 * training-mode call (loss, gradients, the running-statistics update) and eval-mode outputs for
 * ranks 2, 3 and 4; a multi-step SGD trajectory step by step; and the modes: forward and loss never
 * change state, lossAndGrad and step update the running statistics once per call.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compileAndLoad, maxRelErr, ROOT } from "../support/helpers.js";
import { interpret } from "../../src/interp/interp.js";

interface Call {
  shape: number[]; momentum: number; eps: number; affine: boolean;
  x: number[]; P: number[]; r: number[]; running_mean0: number[]; running_var0: number[];
  loss: number; y_train: number[]; grad_P: number[]; running_mean1: number[]; running_var1: number[];
  y_eval: number[]; loss_eval: number;
  weight?: number[]; bias?: number[]; grad_weight?: number[]; grad_bias?: number[];
}
interface Trajectory {
  N: number; I: number; H: number; O: number; lr: number; momentum: number; eps: number;
  init: Record<string, number[]>; batches: { x: number[]; t: number[] }[]; losses: number[];
  running_mean: number[][]; running_var: number[][]; final: Record<string, number[]>; x_eval: number[]; y_eval: number[];
}
const torch = JSON.parse(readFileSync(path.join(ROOT, "test/fixtures/torch/batchnorm.json"), "utf8")) as Record<"rank2" | "rank3" | "rank4", Call> & { trajectory: Trajectory };
const F = (a: number[]) => Float64Array.from(a);

/** h = x ⊙ P, y = batchNorm(h), loss = Σ y ⊙ r; y is the output. */
async function compileCall(c: Call, name: string) {
  return compileAndLoad(
    {
      dtype: "float64",
      build(g) {
        const C = c.shape[1]!;
        const x = g.input("x", c.shape);
        const r = g.input("r", c.shape);
        const P = g.param("P", c.shape);
        const stats = {
          runningMean: g.buffer("bn.running_mean", [C]),
          runningVar: g.buffer("bn.running_var", [C], { init: "ones" }),
          ...(c.affine && { weight: g.param("bn.weight", [C]), bias: g.param("bn.bias", [C]) }),
        };
        const y = g.batchNorm(g.mul(x, P), stats, { momentum: c.momentum, eps: c.eps });
        g.output("y", y);
        return g.sum(g.mul(y, r));
      },
    },
    name,
  );
}

describe("batchNorm matches PyTorch", () => {
  for (const key of ["rank2", "rank3", "rank4"] as const) {
    it(`${key}: training loss, gradients, running update; eval outputs after it`, async () => {
      const c = torch[key];
      const { mod, graph } = await compileCall(c, `bn-${key}`);
      const m = mod.createModel();
      m.params.P!.set(c.P);
      if (c.affine) {
        m.params["bn.weight"]!.set(c.weight!);
        m.params["bn.bias"]!.set(c.bias!);
      }
      m.buffers["bn.running_mean"]!.set(c.running_mean0);
      m.buffers["bn.running_var"]!.set(c.running_var0);
      const inputs = { x: F(c.x), r: F(c.r) };
      // the interpreter, before the module changes its buffers
      const params = Object.fromEntries(Object.entries(m.params).map(([k, v]) => [k, Float64Array.from(v)]));
      const ref = interpret(graph, inputs, params, { "bn.running_mean": F(c.running_mean0), "bn.running_var": F(c.running_var0) });
      expect(maxRelErr([m.lossAndGrad(inputs)], [c.loss])).toBeLessThan(1e-12);
      expect(maxRelErr([ref.loss!], [c.loss])).toBeLessThan(1e-12);
      expect(maxRelErr(m.grads.P!, c.grad_P, 1e-9)).toBeLessThan(1e-10);
      expect(maxRelErr(ref.grads.P!, c.grad_P, 1e-9)).toBeLessThan(1e-10);
      if (c.affine) {
        expect(maxRelErr(m.grads["bn.weight"]!, c.grad_weight!)).toBeLessThan(1e-11);
        expect(maxRelErr(m.grads["bn.bias"]!, c.grad_bias!)).toBeLessThan(1e-11);
      }
      // one running update per call, as one PyTorch forward in train()
      expect(maxRelErr(m.buffers["bn.running_mean"]!, c.running_mean1)).toBeLessThan(1e-12);
      expect(maxRelErr(m.buffers["bn.running_var"]!, c.running_var1)).toBeLessThan(1e-12);
      expect(maxRelErr(ref.updates["bn.running_mean"]!, c.running_mean1)).toBeLessThan(1e-12);
      expect(maxRelErr(ref.updates["bn.running_var"]!, c.running_var1)).toBeLessThan(1e-12);
      // eval mode with the updated statistics: forward and loss, and neither changes them
      const before = [Float64Array.from(m.buffers["bn.running_mean"]!), Float64Array.from(m.buffers["bn.running_var"]!)];
      expect(maxRelErr(m.forward(inputs).y!, c.y_eval)).toBeLessThan(1e-12);
      expect(maxRelErr([m.loss(inputs)], [c.loss_eval])).toBeLessThan(1e-11);
      expect(Array.from(m.buffers["bn.running_mean"]!)).toEqual(Array.from(before[0]!));
      expect(Array.from(m.buffers["bn.running_var"]!)).toEqual(Array.from(before[1]!));
      const after = interpret(graph, inputs, params, { "bn.running_mean": F(c.running_mean1), "bn.running_var": F(c.running_var1) });
      expect(maxRelErr(after.outputs.y!, c.y_eval)).toBeLessThan(1e-12);
      expect(maxRelErr([after.evalLoss!], [c.loss_eval])).toBeLessThan(1e-11);
    });
  }

  it("a multi-step SGD trajectory (linear → batchNorm → relu → linear → mse) follows torch step by step", async () => {
    const t = torch.trajectory;
    const { mod } = await compileAndLoad(
      {
        dtype: "float64",
        optimizer: { type: "sgd", lr: t.lr },
        build(g) {
          const x = g.input("x", [t.N, t.I]);
          const target = g.input("t", [t.N, t.O]);
          const h = g.linear(x, g.param("W1", [t.H, t.I]), g.param("b1", [t.H]));
          const stats = { weight: g.param("gamma", [t.H]), bias: g.param("beta", [t.H]), runningMean: g.buffer("rm", [t.H]), runningVar: g.buffer("rv", [t.H], { init: "ones" }) };
          const y = g.linear(g.relu(g.batchNorm(h, stats, { momentum: t.momentum, eps: t.eps })), g.param("W2", [t.O, t.H]), g.param("b2", [t.O]));
          g.output("y", y);
          return g.mse(y, target);
        },
      },
      "bn-trajectory",
    );
    const m = mod.createModel({ seed: 5 });
    for (const [k, v] of Object.entries(t.init)) m.params[k]!.set(v);
    t.batches.forEach((b, i) => {
      const loss = m.step({ x: F(b.x), t: F(b.t) });
      expect(maxRelErr([loss], [t.losses[i]!]), `step ${i}`).toBeLessThan(1e-11);
      expect(maxRelErr(m.buffers.rm!, t.running_mean[i]!), `running_mean after step ${i}`).toBeLessThan(1e-11);
      expect(maxRelErr(m.buffers.rv!, t.running_var[i]!), `running_var after step ${i}`).toBeLessThan(1e-11);
    });
    for (const [k, v] of Object.entries(t.final)) expect(maxRelErr(m.params[k]!, v), k).toBeLessThan(1e-10);
    expect(maxRelErr(m.forward({ x: F(t.x_eval) }).y!, t.y_eval)).toBeLessThan(1e-10);
  });
});
