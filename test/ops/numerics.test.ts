/**
 * Numerical stability: the stable formulations give finite values and gradients, exact to
 * rounding, for logits of ±1000, in float64 and float32.
 */
import { describe, expect, it } from "vitest";
import { compileAndLoad } from "../support/helpers.js";

const Z = [1000, -1000, 0.5, -3, 1000, -1000];
const sig = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));
const softplus = (z: number) => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));

for (const dtype of ["float64", "float32"] as const) {
  const tol = dtype === "float64" ? 1e-14 : 1e-6;
  const close = (a: ArrayLike<number>, b: number[]) => {
    expect(a.length).toBe(b.length);
    for (let i = 0; i < b.length; i++) {
      expect(Number.isFinite(a[i]!), `element ${i} is ${a[i]}`).toBe(true);
      expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]!)));
    }
  };
  const Arr = dtype === "float64" ? Float64Array : Float32Array;

  describe(`stable numerics (${dtype})`, () => {
    it("bceWithLogits: loss and gradient (σ(z) − t)/n for |z| = 1000", async () => {
      const t = [0, 1, 1, 0, 1, 0];
      const { mod } = await compileAndLoad({ dtype, build: (g) => g.bceWithLogits(g.param("z", [6]), g.input("t", [6])) }, `bcel-${dtype}`);
      const m = mod.createModel();
      m.params.z!.set(Z);
      const loss = m.lossAndGrad({ t: Arr.from(t) });
      const want = Z.reduce((s, z, i) => s + softplus(z) - z * t[i]!, 0) / 6;
      close([loss], [want]);
      close(m.grads.z!, Z.map((z, i) => (sig(z) - t[i]!) / 6));
    });

    it("sigmoid and softplus: values and gradients for |z| = 1000", async () => {
      const { mod } = await compileAndLoad(
        {
          dtype,
          build(g) {
            const z = g.param("z", [6]);
            g.output("s", g.sigmoid(z));
            g.output("sp", g.softplus(z));
            return g.add(g.sum(g.sigmoid(z)), g.sum(g.softplus(z)));
          },
        },
        `sig-${dtype}`,
      );
      const m = mod.createModel();
      m.params.z!.set(Z);
      const out = m.forward({});
      close(out.s!, Z.map(sig));
      close(out.sp!, Z.map(softplus));
      m.lossAndGrad({});
      close(m.grads.z!, Z.map((z) => sig(z) * (1 - sig(z)) + sig(z)));
    });

    it("logSoftmax and softmaxCrossEntropy: finite for logits of ±1000", async () => {
      const rows = [
        [1000, -1000, 0],
        [-1000, -1000, 1000],
      ];
      const targets = [
        [0, 1, 0],
        [0.5, 0, 0.5],
      ];
      const { mod } = await compileAndLoad(
        {
          dtype,
          build(g) {
            const z = g.param("z", [2, 3]);
            g.output("ls", g.logSoftmax(z));
            g.output("sm", g.softmax(z));
            return g.softmaxCrossEntropy(z, g.input("t", [2, 3]));
          },
        },
        `lsm-${dtype}`,
      );
      const m = mod.createModel();
      m.params.z!.set(rows.flat());
      const lse = rows.map((r) => Math.max(...r) + Math.log(r.reduce((s, v) => s + Math.exp(v - Math.max(...r)), 0)));
      const ls = rows.flatMap((r, i) => r.map((v) => v - lse[i]!));
      const out = m.forward({});
      close(out.ls!, ls);
      close(out.sm!, ls.map(Math.exp));
      const loss = m.lossAndGrad({ t: Arr.from(targets.flat()) });
      close([loss], [-targets.flat().reduce((s, t, i) => s + t * ls[i]!, 0) / 2]);
      close(m.grads.z!, ls.map((l, i) => (Math.exp(l) * targets[Math.floor(i / 3)]!.reduce((a, b) => a + b, 0) - targets.flat()[i]!) / 2));
    });

    it("bce clamps log(0) at −100 like PyTorch, so saturated probabilities stay finite", async () => {
      const { mod } = await compileAndLoad({ dtype, build: (g) => g.bce(g.sigmoid(g.param("z", [2])), g.input("t", [2])) }, `bce-${dtype}`);
      const m = mod.createModel();
      m.params.z!.set([1000, -1000]);
      const loss = m.lossAndGrad({ t: Arr.from([0, 1]) });
      close([loss], [100]);
      // σ'(±1000) is 0 in floating point, so the clamped gradient is 0 (not NaN from 0·∞)
      close(m.grads.z!, [0, 0]);
    });
  });
}

describe("stabilisation rewrites", () => {
  for (const dtype of ["float64", "float32"] as const) {
    it(`log σ(z) and log(1 − σ(z)) are finite for |z| = 1000, with finite gradients (${dtype})`, async () => {
      const { mod, text } = await compileAndLoad(
        {
          dtype,
          build(g) {
            const z = g.param("z", [4]);
            const ls = g.log(g.sigmoid(z));
            const l1 = g.log(g.sub(1, g.sigmoid(z)));
            g.output("ls", ls);
            g.output("l1", l1);
            return g.sum(g.add(ls, l1));
          },
        },
        `logsig-${dtype}`,
      );
      expect(text).toContain("log1p");
      const m = mod.createModel();
      const Z = [1000, -1000, 0.5, -3];
      m.params.z!.set(Z);
      const out = m.forward({});
      const logSig = (z: number) => -softplus(-z);
      const tol = dtype === "float64" ? 1e-14 : 1e-6;
      Z.forEach((z, i) => {
        expect(Math.abs(out.ls![i]! - logSig(z))).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(logSig(z))));
        expect(Math.abs(out.l1![i]! + softplus(z))).toBeLessThanOrEqual(tol * Math.max(1, softplus(z)));
      });
      m.lossAndGrad({});
      // d/dz [log σ(z) + log(1 − σ(z))] = (1 − σ(z)) − σ(z)
      Z.forEach((z, i) => expect(Math.abs(m.grads.z![i]! - (1 - 2 * sig(z)))).toBeLessThanOrEqual(tol));
    });
  }
});
