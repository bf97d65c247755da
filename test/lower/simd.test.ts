/**
 * The WebAssembly SIMD matmul kernels (src/wasm): the same values as the plain loops and the float64
 * interpreter for every operand layout and every remainder of the 4-row and 8/4/2-column blocks; the
 * text printed in the generated file assembles (with wabt) to exactly the bytes the module runs; and
 * where WebAssembly SIMD is missing the plain loops run instead.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import wabtInit from "wabt";
import { interpret } from "../../src/interp/interp.js";
import { size } from "../../src/ir/shape.js";
import { contiguous, type View } from "../../src/lower/view.js";
import { planSimd } from "../../src/wasm/matmul.js";
import { sleb, uleb } from "../../src/wasm/module.js";
import { compileAndLoad, kernelsOf, ROOT, rng, scaledErr, type GeneratedModel } from "../support/helpers.js";


/** The global WebAssembly object, typed here (the test project has no DOM types). */
type Wasm = Record<string, unknown> & { validate(bytes: Uint8Array): boolean };
const host = globalThis as unknown as { WebAssembly?: Wasm };


/** x[m,k] → relu(x·Wᵀ + b) [m,n] → ·V [m,q], mean squared error: x·Wᵀ and h·V forward; hᵀ·d, d·Vᵀ, dzᵀ·x backward. */
const mlp = (m: number, k: number, n: number, q: number) => ({
  build(g: import("../../src/dsl/builder.js").Builder) {
    const x = g.input("x", [m, k]);
    const y = g.input("y", [m, q]);
    const W = g.param("W", [n, k], { init: "normal", std: 0.5 });
    const b = g.param("b", [n], { init: "uniform", low: -0.5, high: 0.5 });
    const V = g.param("V", [n, q], { init: "normal", std: 0.5 });
    const z = g.matmul(x, g.transpose(W));
    g.output("z", z);
    const o = g.matmul(g.relu(g.add(z, b)), V);
    g.output("o", o);
    return g.mse(o, y);
  },
  optimizer: { type: "sgd" as const, lr: 0.05 },
});

describe("WebAssembly SIMD matmul kernels", () => {
  it("LEB128 encodings match the specification's examples", () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-64)).toEqual([0x40]);
    expect(sleb(63)).toEqual([0x3f]);
  });

  it("plans four lanes along the columns (A·B, Aᵀ·B) or along k (A·Bᵀ), and none for Aᵀ·Bᵀ or narrow shapes", () => {
    const mat = (base: string, r: number, c: number): View => contiguous(base, [r, c]);
    const T = (v: View): View => ({ ...v, shape: [v.shape[1]!, v.shape[0]!], strides: [v.strides[1]!, v.strides[0]!] });
    expect(planSimd(mat("a", 5, 7), mat("b", 7, 9), 5, 7, 9)?.mode).toBe("along-j"); // A·B
    expect(planSimd(T(mat("a", 7, 5)), mat("b", 7, 9), 5, 7, 9)?.mode).toBe("along-j"); // Aᵀ·B
    expect(planSimd(mat("a", 5, 7), T(mat("b", 9, 7)), 5, 7, 9)?.mode).toBe("along-k"); // A·Bᵀ
    expect(planSimd(T(mat("a", 7, 5)), T(mat("b", 9, 7)), 5, 7, 9)).toBeUndefined(); // Aᵀ·Bᵀ: the plain loops
    expect(planSimd(mat("a", 5, 3), T(mat("b", 2, 3)), 5, 3, 2)).toBeUndefined(); // k = 3, n = 2: too narrow
  });

  // sizes chosen to hit every block remainder: m mod 4, n mod 8 ≥ 4 or not, n mod 4, k mod 4, and 1s
  const cases: [number, number, number, number][] = [
    [1, 1, 1, 1],
    [4, 4, 8, 8],
    [5, 7, 13, 3],
    [9, 33, 5, 10],
    [3, 16, 4, 1],
    [8, 30, 16, 1],
    [2, 5, 12, 6],
    [7, 4, 9, 4],
    [6, 9, 3, 5],
    [13, 64, 20, 10],
  ];
  for (const [m, k, n, q] of cases) {
    it(`x[${m}×${k}], W[${n}×${k}], V[${n}×${q}]: SIMD, the plain loops and the float64 interpreter agree`, async () => {
      const { mod, graph, text } = await compileAndLoad(mlp(m, k, n, q), `simd-${m}-${k}-${n}-${q}`);
      const calls = text.match(/kernels\.mm_\w+\(\)/g) ?? [];
      const simd = mod.createModel({ seed: 3 }) as GeneratedModel & { engine: string };
      const js = mod.createModel({ seed: 3, simd: false } as { seed: number }) as GeneratedModel & { engine: string };
      expect(js.engine).toBe("js");
      expect(simd.engine).toBe(calls.length ? "wasm-simd" : "js");
      // x·Wᵀ (along k) and dW = dzᵀ·x (along the columns) have k contiguous: SIMD whenever k ≥ 4
      if (k >= 4) expect(calls).toEqual(expect.arrayContaining(["kernels.mm_z()", "kernels.mm_dW()"]));
      const rand = rng(m * 1000 + k * 100 + n * 10 + q);
      const x = Float32Array.from({ length: m * k }, () => rand() * 2 - 1);
      const y = Float32Array.from({ length: m * q }, () => rand() * 2 - 1);
      const params = Object.fromEntries(Object.entries(simd.params).map(([p, v]) => [p, Float64Array.from(v)]));
      const ref = interpret(graph, { x: Float64Array.from(x), y: Float64Array.from(y) }, params);
      for (const model of [simd, js]) {
        const out = model.forward({ x });
        for (const o of ["z", "o"]) expect(scaledErr(out[o]!, ref.outputs[o]!), `${model.engine} ${o}`).toBeLessThan(2e-6);
        expect(scaledErr([model.lossAndGrad({ x, y })], [ref.loss!]), `${model.engine} loss`).toBeLessThan(2e-6);
        for (const p of ["W", "b", "V"]) expect(scaledErr(model.grads[p]!, ref.grads[p]!), `${model.engine} d${p}`).toBeLessThan(2e-6);
      }
      // training: the two engines' parameters stay together step after step
      for (let s = 0; s < 5; s++) expect(Math.abs(simd.step({ x, y }) - js.step({ x, y }))).toBeLessThan(1e-5 * (1 + ref.loss!));
      for (const p of ["W", "b", "V"]) expect(scaledErr(simd.params[p]!, js.params[p]!), p).toBeLessThan(1e-5);
    });
  }

  // random float32 networks: depth 1–4, widths 1–21 (every block remainder), each layer x·Wᵀ, x·W or
  // linear, sometimes with a batch axis (a batched product; test/wasm/batched.test.ts covers those), relu/tanh/sigmoid
  const SEED = Number(process.env.FLATGRAD_SEED ?? 20261127);
  const RANDOM = 24;
  let ranSimd = 0;
  for (let c = 0; c < RANDOM; c++) {
    const seed = SEED + c;
    it(`random network ${seed}: both engines agree with the float64 interpreter`, async () => {
      const r = rng(seed);
      const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
      const batch = int(1, 9);
      const widths = Array.from({ length: int(2, 5) }, () => int(1, 21));
      const batched = r() < 0.2 ? int(2, 3) : 0;
      const classes = widths[widths.length - 1]!;
      const { mod, graph } = await compileAndLoad(
        {
          build(g) {
            const lead = batched ? [batched] : [];
            let h = g.input("x", [...lead, batch, widths[0]!]);
            const y = g.input("y", [...lead, batch, classes]);
            for (let l = 1; l < widths.length; l++) {
              const [inp, out] = [widths[l - 1]!, widths[l]!];
              const form = r();
              if (form < 0.4) h = g.linear(h, g.param(`W${l}`, [out, inp], { init: "normal", std: 0.5 }), g.param(`b${l}`, [out], { init: "uniform", low: -0.5, high: 0.5 }));
              else if (form < 0.7) h = g.matmul(h, g.param(`W${l}`, [inp, out], { init: "normal", std: 0.5 }));
              else h = g.matmul(h, g.transpose(g.param(`W${l}`, [out, inp], { init: "normal", std: 0.5 })));
              if (l < widths.length - 1) h = [g.relu, g.tanh, g.sigmoid][int(0, 2)]!(h);
            }
            g.output("out", h);
            return batched || r() < 0.5 ? g.mse(h, y) : g.softmaxCrossEntropy(h, y);
          },
        },
        `simd-random-${seed}`,
      );
      const x = Float32Array.from({ length: size(graph.inputs.get("x")!.shape) }, () => r() * 2 - 1);
      const y = Float32Array.from({ length: size(graph.inputs.get("y")!.shape) }, () => r());
      const simd = mod.createModel({ seed }) as GeneratedModel & { engine: string };
      const js = mod.createModel({ seed, simd: false } as { seed: number }) as GeneratedModel & { engine: string };
      if (simd.engine === "wasm-simd") ranSimd++;
      const params = Object.fromEntries(Object.entries(simd.params).map(([p, v]) => [p, Float64Array.from(v)]));
      const ref = interpret(graph, { x: Float64Array.from(x), y: Float64Array.from(y) }, params);
      for (const model of [simd, js]) {
        const what = `${model.engine}, widths ${widths.join("→")}, batch ${batch}${batched ? ` × ${batched}` : ""}`;
        expect(scaledErr(model.forward({ x }).out!, ref.outputs.out!), `${what}: out`).toBeLessThan(1e-5);
        expect(scaledErr([model.lossAndGrad({ x, y })], [ref.loss!]), `${what}: loss`).toBeLessThan(1e-5);
        for (const [p, gv] of Object.entries(ref.grads)) expect(scaledErr(model.grads[p]!, gv), `${what}: d${p}`).toBeLessThan(1e-5);
      }
    });
  }

  it("most random networks ran SIMD kernels (the rest have only narrow products)", () => {
    expect(ranSimd).toBeGreaterThanOrEqual(RANDOM / 2);
  });

  it("epilogues of the ops written in lanes run inside the kernels, along k and along the columns, with JavaScript's semantics", async () => {
    const { mod, graph, text } = await compileAndLoad(
      {
        build(g) {
          const x = g.input("x", [5, 9]);
          const c = g.input("c", [5, 11]);
          const r = g.input("r", [5, 1]);
          const b = g.param("b", [11], { init: "uniform", low: -0.5, high: 0.5 });
          // a product per output (the same product twice would be one node, read twice, not fused)
          const xw = (i: number) => g.matmul(x, g.transpose(g.param(`W${i}`, [11, 9], { init: "normal", std: 0.5 }))); // along k
          const xv = (i: number) => g.matmul(x, g.param(`V${i}`, [9, 11], { init: "normal", std: 0.5 })); // along the columns: 8 in vectors, 3 in scalar lanes
          const kRelu = g.relu(g.add(xw(1), b));
          g.output("k_relu", kRelu);
          g.output("k_leaky", g.leakyRelu(g.sub(xw(2), b), 0.1));
          g.output("k_div", g.div(g.square(xw(3)), g.add(g.square(c), 1)));
          // a leaf strided along the columns (a transpose): along k, the four columns' sums go through the epilogue one lane at a time
          g.output("k_strided", g.mul(xw(4), g.transpose(g.input("t", [11, 5]))));
          g.output("j_mask", g.mul(g.neg(xv(1)), g.heaviside(c)));
          g.output("j_row", g.relu(g.add(xv(2), r)));
          g.output("j_tanh", g.tanh(g.add(xv(3), b)));
          return g.sum(g.mul(kRelu, c));
        },
      },
      "simd-epilogues",
    );
    // every output but tanh's has its epilogue in the kernel; tanh is not written in lanes: JavaScript applies it
    for (const o of ["k_relu", "k_leaky", "k_div", "k_strided", "j_mask", "j_row"]) expect(text).toMatch(new RegExp(`// ${o} ← .* in WebAssembly SIMD \\([^)]*\\)\n\\s*kernels\\.mm_${o}\\(\\);\n\\s*\\}`));
    expect(text).toMatch(/\/\/ j_tanh ← x·V3 in WebAssembly SIMD \([^)]*\), then the rest of the equation in place/);
    const rand = rng(11);
    const x = Float32Array.from({ length: 45 }, () => rand() * 2 - 1);
    const c = Float32Array.from({ length: 55 }, () => rand() * 2 - 1);
    const r = Float32Array.from({ length: 5 }, () => rand() - 0.5);
    const t = Float32Array.from({ length: 55 }, () => rand() * 2 - 1);
    const simd = mod.createModel({ seed: 2 }) as GeneratedModel & { engine: string };
    const js = mod.createModel({ seed: 2, simd: false } as { seed: number }) as GeneratedModel & { engine: string };
    expect(simd.engine).toBe("wasm-simd");
    const params = Object.fromEntries(Object.entries(simd.params).map(([p, v]) => [p, Float64Array.from(v)]));
    const ref = interpret(graph, { x: Float64Array.from(x), c: Float64Array.from(c), r: Float64Array.from(r), t: Float64Array.from(t) }, params);
    for (const model of [simd, js]) {
      const out = model.forward({ x, c, r, t });
      for (const o of Object.keys(ref.outputs)) expect(scaledErr(out[o]!, ref.outputs[o]!), `${model.engine} ${o}`).toBeLessThan(2e-6);
      expect(scaledErr([model.lossAndGrad({ x, c, r, t })], [ref.loss!])).toBeLessThan(2e-6);
      for (const p of ["W1", "b"]) expect(scaledErr(model.grads[p]!, ref.grads[p]!), `${model.engine} d${p}`).toBeLessThan(2e-6);
    }
    // NaN: relu(NaN) and relu'(NaN) are 0 in the loops (NaN > 0 is false), and so in the lanes
    x.fill(Number.NaN, 0, 9);
    c.fill(Number.NaN, 0, 11);
    const [a, b] = [simd.forward({ x, c, r, t }), js.forward({ x, c, r, t })];
    for (const o of ["k_relu", "j_row"]) expect([...a[o]!.slice(0, 11)], o).toEqual(new Array(11).fill(0));
    for (const o of Object.keys(ref.outputs)) expect([...a[o]!].map(Number.isNaN), o).toEqual([...b[o]!].map(Number.isNaN));
  });

  it("the text in the generated file assembles to exactly the bytes the module runs", async () => {
    const wabt = await wabtInit();
    const texts = ["seed-net", "digits-mlp"].map((f) => readFileSync(path.join(ROOT, "generated", `${f}.ts`), "utf8"));
    texts.push((await compileAndLoad(mlp(5, 7, 13, 3), "simd-wat")).text);
    // every lane operation and constant form: relu, leakyRelu, div, neg, heaviside in both modes
    texts.push(
      (
        await compileAndLoad(
          {
            build(g) {
              const x = g.input("x", [5, 9]);
              const W = g.param("W", [11, 9]);
              const V = g.param("V", [9, 11]);
              g.output("p", g.leakyRelu(g.div(g.neg(g.matmul(x, g.transpose(W))), 3), 0.1));
              g.output("q", g.mul(g.sub(g.matmul(x, V), 1e-7), g.heaviside(g.matmul(x, V))));
              return g.sum(g.relu(g.matmul(x, g.transpose(W))));
            },
          },
          "simd-wat-lanes",
        )
      ).text,
    );
    for (const text of texts) {
      const k = kernelsOf(text)!;
      expect(k, "a float32 model with matmuls carries kernels").toBeDefined();
      expect(host.WebAssembly!.validate(k.bytes)).toBe(true);
      const mod = wabt.parseWat("kernels.wat", k.wat, { simd: true });
      const theirs = new Uint8Array(mod.toBinary({}).buffer);
      mod.destroy();
      expect(Buffer.from(theirs).equals(Buffer.from(k.bytes))).toBe(true);
    }
  });

  it("a float64 model carries no kernels; a float32 one falls back to the loops where WebAssembly or SIMD is missing", async () => {
    const f64 = await compileAndLoad({ ...mlp(4, 8, 8, 2), dtype: "float64" }, "simd-f64");
    expect(kernelsOf(f64.text)).toBeUndefined();
    expect((f64.mod.createModel() as GeneratedModel & { engine: string }).engine).toBe("js");

    const { mod } = await compileAndLoad(mlp(4, 8, 8, 2), "simd-fallback");
    const rand = rng(5);
    const x = Float32Array.from({ length: 32 }, () => rand() - 0.5);
    const y = Float32Array.from({ length: 8 }, () => rand() - 0.5);
    const want = (mod.createModel({ seed: 1, simd: false } as { seed: number }) as GeneratedModel).lossAndGrad({ x, y });
    const g = host;
    const real = g.WebAssembly!;
    try {
      g.WebAssembly = undefined;
      const none = mod.createModel({ seed: 1 }) as GeneratedModel & { engine: string };
      expect(none.engine).toBe("js");
      expect(none.lossAndGrad({ x, y })).toBe(want);
      // a platform whose WebAssembly lacks SIMD rejects the module at validation
      g.WebAssembly = { ...real, validate: () => false };
      expect((mod.createModel({ seed: 1 }) as GeneratedModel & { engine: string }).engine).toBe("js");
      // a browser that refuses to compile synchronously throws from new WebAssembly.Module
      g.WebAssembly = {
        ...real,
        validate: () => true,
        Module: function () {
          throw new RangeError("too large for the main thread");
        },
      };
      expect((mod.createModel({ seed: 1 }) as GeneratedModel & { engine: string }).engine).toBe("js");
    } finally {
      g.WebAssembly = real;
    }
  });

  it("each model owns its memory; checkpoints move between the engines unchanged", async () => {
    const { mod } = await compileAndLoad(mlp(4, 8, 8, 2), "simd-state");
    type M = GeneratedModel & { engine: string; saveState(): Uint8Array; loadState(b: Uint8Array): void };
    const a = mod.createModel({ seed: 1 }) as M;
    const b = mod.createModel({ seed: 2 }) as M;
    const c = mod.createModel({ seed: 3, simd: false } as { seed: number }) as M;
    expect([a.engine, b.engine, c.engine]).toEqual(["wasm-simd", "wasm-simd", "js"]);
    const x = new Float32Array(32).fill(0.5);
    const y = new Float32Array(8).fill(-0.25);
    const W = Float32Array.from(b.params.W!);
    a.step({ x, y });
    expect(b.params.W).toEqual(W); // a's step wrote a's memory only
    c.loadState(a.saveState());
    for (const p of ["W", "b", "V"]) expect(c.params[p]).toEqual(a.params[p]);
    a.loadState(c.saveState());
    expect(a.params.W).toEqual(c.params.W);
  });
});
