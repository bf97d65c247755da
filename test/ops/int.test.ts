/**
 * Integer tensors against PyTorch (fixtures made by test/fixtures/torch/make_*.py with torch 1.13 in
 * float64): F.cross_entropy's loss and gradient (ignore_index, label_smoothing, rank-3 logits with the
 * classes last, every label ignored) and F.embedding's gradient with repeated ids; argmax as an int32
 * output; the range checks at entry, after which nothing has changed.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compileAndLoad, maxRelErr, ROOT, TMP } from "../support/helpers.js";
import { typecheck } from "../support/typecheck.js";

const fixture = (name: string) => JSON.parse(readFileSync(path.join(ROOT, "test/fixtures/torch", `${name}.json`), "utf8"));
const num = (v: number | string) => (v === "NaN" ? NaN : (v as number));

describe("crossEntropy against torch.nn.functional.cross_entropy", () => {
  const { cases } = fixture("cross_entropy") as {
    cases: { name: string; shape: number[]; logits: number[]; labels: number[]; labelsShape: number[]; ignoreIndex: number; labelSmoothing: number; loss: number | string; grad: (number | string)[] }[];
  };
  for (const c of cases) {
    it(c.name, async () => {
      const { mod } = await compileAndLoad(
        {
          dtype: "float64",
          build(g) {
            const z = g.param("z", c.shape, { init: "zeros" });
            return g.crossEntropy(z, g.input("y", c.labelsShape, { dtype: "int32" }), { ignoreIndex: c.ignoreIndex, labelSmoothing: c.labelSmoothing });
          },
        },
        "ce-torch",
      );
      const m = mod.createModel();
      m.params.z!.set(c.logits);
      const loss = m.lossAndGrad({ y: Int32Array.from(c.labels) });
      if (c.loss === "NaN") expect(loss).toBeNaN();
      else expect(Math.abs(loss - num(c.loss)) / Math.abs(num(c.loss))).toBeLessThan(1e-13);
      // every label ignored: PyTorch's gradient is 0, not NaN
      expect(maxRelErr(m.grads.z!, c.grad.map(num), 1e-15)).toBeLessThan(1e-12);
    });
  }
});

describe("embedding against torch.nn.functional.embedding", () => {
  it("gathers rows, and repeated ids add their gradients", async () => {
    const f = fixture("embedding");
    const { mod } = await compileAndLoad(
      {
        dtype: "float64",
        build(g) {
          const table = g.param("emb.weight", f.tableShape, { init: "zeros" });
          const out = g.embedding(g.input("ids", f.idsShape, { dtype: "int32" }), table);
          g.output("out", out);
          return g.sum(g.mul(out, g.constant(f.r, [...f.idsShape, f.tableShape[1]])));
        },
      },
      "emb-torch",
    );
    const m = mod.createModel();
    m.params["emb.weight"]!.set(f.table);
    const ids = Int32Array.from(f.ids);
    expect([...m.forward({ ids })["out"]!]).toEqual(f.out);
    m.lossAndGrad({ ids });
    expect(maxRelErr(m.grads["emb.weight"]!, f.grad, 1e-15)).toBeLessThan(1e-13);
    // row 2 is never read: its gradient is exactly 0; row 3 is read three times
    expect([...m.grads["emb.weight"]!.subarray(6, 9)]).toEqual([0, 0, 0]);
  });
});

describe("int32 inputs: outputs and range checks at entry", () => {
  const compileClassifier = () =>
    compileAndLoad(
      {
        optimizer: { type: "adam", lr: 0.01 },
        build(g) {
          const x = g.input("x", [4, 3]);
          const ids = g.input("ids", [4, 2], { dtype: "int32" });
          const y = g.input("y", [4], { dtype: "int32" });
          const h = g.add(x, g.mean(g.embedding(ids, g.param("emb.weight", [6, 3], { init: "normal", std: 0.5 })), 1));
          const logits = g.linear(h, g.param("fc.weight", [3, 3]), g.param("fc.bias", [3]));
          // a buffer that training updates: it too must be untouched by a call that throws
          const seen = g.buffer("stats.seen", [3]);
          g.assign(seen, g.add(seen, g.mean(logits, 0)));
          g.output("pred", g.argmax(logits));
          return g.crossEntropy(logits, y);
        },
      },
      "int-ranges",
    );
  const batch = () => ({ x: Float32Array.from({ length: 12 }, (_, i) => Math.sin(i)), ids: Int32Array.from([0, 5, 1, 1, 2, 3, 4, 0]), y: Int32Array.from([0, 2, -100, 1]) });

  it("argmax is an int32 output: an Int32Array, and spec.outputDtypes says so", async () => {
    const { mod } = await compileClassifier();
    expect(mod.spec.outputDtypes).toEqual({ pred: "int32" });
    expect(mod.spec.inputDtypes).toEqual({ x: "float32", ids: "int32", y: "int32" });
    const m = mod.createModel({ seed: 1 });
    const pred = m.forward(batch())["pred"] as unknown as Int32Array;
    expect(pred).toBeInstanceOf(Int32Array);
    expect(pred.length).toBe(4);
    expect([...pred].every((v) => v >= 0 && v < 3)).toBe(true);
  });

  it("an out-of-range label or id throws a RangeError naming the input, the position and the range, and nothing changes", async () => {
    const { mod } = await compileClassifier();
    const m = mod.createModel({ seed: 2 });
    for (let k = 0; k < 3; k++) m.step(batch());
    const snapshot = () => [m.saveParams(), (m as unknown as { saveState(): Uint8Array }).saveState(), ...Object.values(m.grads), ...Object.values(m.buffers)].map((a) => Uint8Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)));
    const before = snapshot();
    expect(before.slice(2).some((a) => a.some((v) => v !== 0))).toBe(true);
    const bad: [string, Record<string, unknown>, string][] = [
      ["step", { y: Int32Array.from([0, 2, 3, 1]) }, 'input "y" holds 3 at index 2 (position [2]), outside the allowed range [0, 3) or -100'],
      ["lossAndGrad", { y: Int32Array.from([-1, 0, 0, 0]) }, 'input "y" holds -1 at index 0 (position [0]), outside the allowed range [0, 3) or -100'],
      ["step", { ids: Int32Array.from([0, 1, 2, 3, 4, 6, 0, 0]) }, 'input "ids" holds 6 at index 5 (position [2, 1]), outside the allowed range [0, 6)'],
      ["forward", { ids: Int32Array.from([0, 1, 2, 3, 4, 5, 0, -100]) }, 'input "ids" holds -100 at index 7 (position [3, 1]), outside the allowed range [0, 6)'],
    ];
    for (const [entry, change, message] of bad) {
      const call = () => (m as unknown as Record<string, (i: object) => unknown>)[entry]!({ ...batch(), ...change });
      expect(call).toThrow(RangeError);
      expect(call).toThrow(`int-ranges: ${message}`);
      expect(snapshot()).toEqual(before);
    }
    // the ignore index and the ends of the ranges are accepted
    expect(Number.isFinite(m.lossAndGrad({ ...batch(), y: Int32Array.from([-100, 0, 2, -100]), ids: Int32Array.from([0, 5, 0, 5, 0, 5, 0, 5]) }))).toBe(true);
  });
});

describe("crossEntropy with int32 labels trains as softmaxCrossEntropy with one-hot rows", () => {
  for (const dtype of ["float64", "float32"] as const) {
    it(`${dtype}: the same losses and params over 15 Adam steps${dtype === "float32" ? " (through the SIMD matmuls)" : ""}`, async () => {
      const N = 32;
      const C = 10;
      const model = (labels: "int" | "onehot") =>
        compileAndLoad(
          {
            dtype,
            optimizer: { type: "adam", lr: 0.01 },
            build(g) {
              const x = g.input("x", [N, 16]);
              const h = g.relu(g.linear(x, g.param("fc1.weight", [32, 16], { init: "he" }), g.param("fc1.bias", [32])));
              const logits = g.linear(h, g.param("fc2.weight", [C, 32]), g.param("fc2.bias", [C]));
              return labels === "int" ? g.crossEntropy(logits, g.input("y", [N], { dtype: "int32" })) : g.softmaxCrossEntropy(logits, g.input("y", [N, C]));
            },
          },
          `ce-vs-sce-${labels}`,
        );
      const [a, b] = [(await model("int")).mod.createModel({ seed: 3 }), (await model("onehot")).mod.createModel({ seed: 3 })];
      if (dtype === "float32") expect(a.engine).toBe("wasm-simd");
      const Arr = (n: number, f: (i: number) => number) => (dtype === "float64" ? Float64Array.from({ length: n }, (_, i) => f(i)) : Float32Array.from({ length: n }, (_, i) => f(i)));
      let s = 7;
      const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648), s / 2147483648);
      const tol = dtype === "float64" ? 1e-12 : 2e-5;
      for (let step = 0; step < 15; step++) {
        const x = Arr(N * 16, () => rand() * 2 - 1);
        const y = Int32Array.from({ length: N }, () => Math.floor(rand() * C));
        const hot = Arr(N * C, (i) => (y[Math.floor(i / C)] === i % C ? 1 : 0));
        const la = a.step({ x, y });
        const lb = b.step({ x, y: hot });
        expect(Math.abs(la - lb) / lb, `step ${step}`).toBeLessThan(tol);
      }
      // Adam's update divides by √v: float32 rounding differences in the gradients move params by up to ~1e-4 of lr
      for (const k of Object.keys(a.params)) expect(maxRelErr(a.params[k]!, b.params[k]!, 1e-3), k).toBeLessThan(dtype === "float64" ? 1e-10 : 1e-3);
    });
  }
});

describe("int32 ops in a debug build", () => {
  it("type-checks under the user's strictest flags and watches an int32 kernel output", async () => {
    const { mod, text } = await compileAndLoad(
      {
        dtype: "float64",
        build(g) {
          const z = g.linear(g.input("x", [3, 4]), g.param("W", [5, 4]));
          g.output("pred", g.argmax(z));
          return g.crossEntropy(z, g.input("y", [3], { dtype: "int32" }), { labelSmoothing: 0.1 });
        },
      },
      "int-debug",
      true,
    );
    mkdirSync(TMP, { recursive: true });
    const dir = mkdtempSync(path.join(TMP, "int-debug-"));
    writeFileSync(path.join(dir, "int-debug.ts"), text);
    expect(typecheck(dir, ["*.ts"])).toBe("");
    const m = mod.createModel();
    const pred = m.forward({ x: Float64Array.from({ length: 12 }, (_, i) => Math.cos(i)) })["pred"] as unknown as Int32Array;
    expect(pred).toBeInstanceOf(Int32Array);
    expect(Number.isFinite(m.lossAndGrad({ x: new Float64Array(12).fill(0.5), y: Int32Array.from([1, 4, 0]) }))).toBe(true);
  });
});
