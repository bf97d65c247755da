/**
 * The elementwise map kernels in WebAssembly SIMD (src/wasm/map.ts) and their lane functions
 * (src/wasm/vmath.ts): eˣ and erf against Math.exp and the float64 erf rounded to float32 over dense
 * sweeps (the worst ulp asserted) and at NaN, ±∞, ±0, subnormals and the overflow edge; fused
 * elementwise kernels over odd sizes (the one-lane tail), broadcasts along and across the runs,
 * against the plain loops (`simd: false`) and the float64 interpreter; which kernels are planned; the
 * text assembles to the bytes; and planted bugs (a wrong coefficient, erf's tail skipped, a dropped
 * tail of a run) are caught.
 */
import { afterEach, describe, expect, it } from "vitest";
import wabtInit from "wabt";
import type { Builder } from "../../src/dsl/builder.js";
import { erf64 } from "../../src/ops/erf.js";
import { interpret } from "../../src/interp/interp.js";
import { Func, i32 } from "../../src/wasm/module.js";
import { EXP_POLY, V } from "../../src/wasm/vmath.js";
import { compileAndLoad, kernelsOf, rng, scaledErr, type GeneratedModel } from "../support/helpers.js";
import { runLanes, ulps } from "../support/lanes.js";

type Model = GeneratedModel & { engine: string };
const expLanes = <V>(L: import("../../src/ops/types.js").Lanes<V>, x: V) => L.exp!(x);
const erfLanes = <V>(L: import("../../src/ops/types.js").Lanes<V>, x: V) => L.erf!(x);

/** The worst ulp distance of `got` from `ref` rounded to float32, and where. */
function worst(xs: Float32Array, got: Float32Array, ref: (x: number) => number): { ulps: number; at: number } {
  let w = { ulps: 0, at: NaN };
  for (let i = 0; i < xs.length; i++) {
    const u = ulps(got[i]!, Math.fround(ref(xs[i]!)));
    if (u > w.ulps) w = { ulps: u, at: xs[i]! };
  }
  return w;
}

/** A sweep of [lo, hi] in n steps (plus 3, so that the run has a tail), and ± every power of two from 2⁻¹⁴⁹ to 2^top times 1…2 in 64 steps. */
function sweep(lo: number, hi: number, n: number, top: number): Float32Array {
  const xs: number[] = [];
  for (let i = 0; i < n + 3; i++) xs.push(lo + ((hi - lo) * i) / n);
  for (let e = -149; e <= top; e++) for (let m = 0; m < 64; m++) for (const s of [1, -1]) xs.push(s * 2 ** e * (1 + m / 64));
  return Float32Array.from(xs);
}

const SPECIAL = Float32Array.of(NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 1e-40, -1e-40, 1e-30, 88.72, 88.7228, 88.73, 89, 100, -87.3, -87.5, -103, -103.97, -104, -105, -1e30, 1e30, 0.84375, 1.25, 1 / 0.35, 3.9, 3.92, 4, 6, -6);

describe("lane functions (f32x4, src/wasm/vmath.ts)", () => {
  it("eˣ is within 1 ulp of Math.exp rounded to float32 over [−110, 95] and every binade, and exact at NaN, ±∞, ±0, the subnormals and the overflow edge", () => {
    const xs = sweep(-110, 95, 1 << 19, 6);
    const w = worst(xs, runLanes(expLanes, xs), Math.exp);
    expect(w.ulps, `worst at ${w.at}`).toBeLessThanOrEqual(1);
    const got = runLanes(expLanes, SPECIAL);
    for (const [i, x] of SPECIAL.entries()) expect(ulps(got[i]!, Math.fround(Math.exp(x))), `exp(${x}) = ${got[i]}`).toBeLessThanOrEqual(Number.isFinite(x) && Math.abs(x) < 88 ? 1 : 0);
  });

  it("erf is within 2 ulps of the float64 erf rounded to float32 over [−7, 7] and every binade (relative for small |x|, down to the subnormals), and exact at NaN, ±∞ and ±0", () => {
    const xs = sweep(-7, 7, 1 << 19, 3);
    const w = worst(xs, runLanes(erfLanes, xs), erf64);
    expect(w.ulps, `worst at ${w.at}`).toBeLessThanOrEqual(2);
    // shuffled, so that the four lanes of a vector fall in different pieces (the tail runs when any lane needs it)
    const rand = rng(7);
    const mixed = Float32Array.from({ length: xs.length >> 3 }, (_, i) => xs[i * 8]!);
    for (let i = mixed.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [mixed[i], mixed[j]] = [mixed[j]!, mixed[i]!];
    }
    const wm = worst(mixed, runLanes(erfLanes, mixed), erf64);
    expect(wm.ulps, `worst at ${wm.at}`).toBeLessThanOrEqual(2);
    const got = runLanes(erfLanes, SPECIAL);
    for (const [i, x] of SPECIAL.entries()) expect(ulps(got[i]!, Math.fround(erf64(x))), `erf(${x}) = ${got[i]}`).toBeLessThanOrEqual(Number.isFinite(x) ? 2 : 0);
    expect(Object.is(got[4], -0), "erf(−0) = −0").toBe(true);
  });

  it("rows of odd length (a tail of 1, 2 or 3 after the vectors) give the same values as one long run", () => {
    const rand = rng(11);
    for (const run of [4, 5, 6, 7, 9, 13]) {
      const xs = Float32Array.from({ length: run * 3 }, () => rand() * 20 - 10);
      expect([...runLanes(expLanes, xs, run)]).toEqual([...runLanes(expLanes, xs)]);
    }
  });
});

describe("planted bugs in the lanes are caught", () => {
  const undo: (() => void)[] = [];
  afterEach(() => undo.splice(0).forEach((u) => u()));

  it("a coefficient of eˣ's polynomial off by 0.1 % (the r³ term)", () => {
    const orig = EXP_POLY[1]!;
    EXP_POLY[1] = orig * 1.001;
    undo.push(() => (EXP_POLY[1] = orig));
    const xs = sweep(-20, 20, 1 << 14, 0);
    expect(worst(xs, runLanes(expLanes, xs), Math.exp).ulps).toBeGreaterThan(1);
  });

  it("erf's tail (1.25 ≤ |x| < 4) never taken: its if's condition always false", () => {
    const anyTrue = V.anyTrue;
    V.anyTrue = () => i32(0);
    undo.push(() => (V.anyTrue = anyTrue));
    const xs = sweep(-5, 5, 1 << 12, 0);
    expect(worst(xs, runLanes(erfLanes, xs), erf64).ulps).toBeGreaterThan(2);
  });

  it("a dropped tail: the last elements of each run never written", () => {
    const repeat = Func.prototype.repeat;
    Func.prototype.repeat = function (this: Func, counter: string, count: number, body: () => void) {
      return counter === "ct" ? this : repeat.call(this, counter, count, body);
    };
    undo.push(() => (Func.prototype.repeat = repeat));
    const xs = Float32Array.from({ length: 21 }, (_, i) => i / 7);
    expect(worst(xs, runLanes(expLanes, xs, 7), Math.exp).ulps).toBeGreaterThan(1);
  });
});

/** Fused elementwise chains over a [rows, run] output: leaves contiguous, broadcast across rows ([run]), along the run ([rows, 1]) and scalar. */
const chains = (rows: number, run: number) => ({
  optimizer: { type: "sgd" as const, lr: 0.01 },
  build(g: Builder) {
    const x = g.input("x", [rows, run]);
    const W = g.param("W", [rows, run], { init: "normal", std: 1 });
    const b = g.param("b", [run], { init: "uniform", low: -1, high: 1 });
    const c = g.param("c", [rows, 1], { init: "uniform", low: -1, high: 1 });
    const h = g.add(g.mul(x, W), b);
    g.output("e", g.sub(g.exp(g.mul(h, 0.5)), c));
    g.output("f", g.erf(g.add(h, c)));
    g.output("m", g.maximum(g.minimum(x, c), g.neg(g.abs(b))));
    g.output("s", g.sqrt(g.abs(g.div(x, 3))));
    // GELU's forward and backward (erf, exp), relu's mask, all fused chains
    return g.sum(g.mul(g.add(g.gelu(h), g.relu(g.sub(h, c))), x));
  },
});

describe("map kernels in generated modules", () => {
  for (const [rows, run] of [[1, 259], [2, 130], [16, 17], [37, 7], [64, 4], [9, 31]] as const) {
    it(`[${rows}×${run}]: the SIMD maps, the plain loops and the float64 interpreter agree (values and gradients)`, async () => {
      const { mod, graph, program, text } = await compileAndLoad(chains(rows, run), `map-${rows}-${run}`);
      const maps = [...program.forward, ...program.train].filter((k) => k.simd?.plan.kind === "map");
      expect(maps.length).toBeGreaterThan(0);
      expect(text).toMatch(/kernels\.map_\w+\(/);
      const simd = mod.createModel({ seed: 5 }) as Model;
      const js = mod.createModel({ seed: 5, simd: false } as { seed: number }) as Model;
      expect([simd.engine, js.engine]).toEqual(["wasm-simd", "js"]);
      const rand = rng(rows * 100 + run);
      const x = Float32Array.from({ length: rows * run }, () => rand() * 6 - 3);
      const params = Object.fromEntries(Object.entries(simd.params).map(([p, v]) => [p, Float64Array.from(v)]));
      const ref = interpret(graph, { x: Float64Array.from(x) }, params);
      for (const model of [simd, js]) {
        const out = model.forward({ x });
        for (const o of ["e", "f", "m", "s"]) expect(scaledErr(out[o]!, ref.outputs[o]!), `${model.engine} ${o}`).toBeLessThan(1e-6);
        expect(scaledErr([model.lossAndGrad({ x })], [ref.loss!]), `${model.engine} loss`).toBeLessThan(1e-6);
        for (const p of ["W", "b", "c"]) expect(scaledErr(model.grads[p]!, ref.grads[p]!), `${model.engine} d${p}`).toBeLessThan(1e-5);
      }
    });
  }

  it("loops of three and four axes: a transpose written out (runs of 12 from a permuted tensor) and broadcasts over middle axes, as the interpreter", async () => {
    const { mod, graph, program } = await compileAndLoad(
      {
        build(g) {
          const x = g.input("x", [3, 5, 2, 12]);
          const b = g.input("b", [5, 1, 12]);
          const c = g.input("c", [3, 1, 2, 1]);
          g.output("t", g.transpose(x, [1, 0, 2, 3]));
          g.output("u", g.mul(g.exp(g.sub(x, b)), c));
          g.output("v", g.add(g.transpose(x, [2, 1, 0, 3]), g.reshape(c, [2, 1, 3, 1])));
        },
      },
      "map-axes",
    );
    expect(program.forward.filter((k) => k.simd?.plan.kind === "map").map((k) => k.out).sort()).toEqual(["t", "u", "v"]);
    const rand = rng(3);
    const inputs = Object.fromEntries([...graph.inputs].map(([n, node]) => [n, Float32Array.from({ length: node.shape.reduce((a, d) => a * d, 1) }, () => rand() * 4 - 2)]));
    const ref = interpret(graph, Object.fromEntries(Object.entries(inputs).map(([n, v]) => [n, Float64Array.from(v)])), {});
    for (const model of [mod.createModel() as Model, mod.createModel({ simd: false } as object) as Model]) {
      const out = model.forward(inputs);
      for (const o of ["t", "u", "v"]) expect(scaledErr(out[o]!, ref.outputs[o]!), `${model.engine} ${o}`).toBeLessThan(1e-6);
    }
  });

  it("NaN, ±∞, huge and tiny inputs: the maps give what the loops give (eˣ, erf, relu' and max exactly or within an ulp)", async () => {
    // the special values nine times over: 279 elements, so that the kernels are maps (and end in a tail of 3)
    const xs = Float32Array.from({ length: SPECIAL.length * 9 }, (_, i) => SPECIAL[i % SPECIAL.length]!);
    const n = xs.length;
    const { mod, program } = await compileAndLoad(
      {
        build(g) {
          const x = g.input("x", [n]);
          g.output("e", g.exp(x));
          g.output("f", g.erf(x));
          g.output("h", g.mul(x, g.heaviside(x)));
          g.output("m", g.maximum(x, 0.5));
        },
      },
      "map-special",
    );
    expect(program.forward.filter((k) => k.simd?.plan.kind === "map").map((k) => k.out)).toEqual(["e", "f", "h", "m"]);
    const simd = mod.createModel() as Model;
    const js = mod.createModel({ simd: false } as object) as Model;
    const a = simd.forward({ x: xs });
    const b = js.forward({ x: xs });
    for (const o of ["e", "f", "h", "m"])
      for (let i = 0; i < n; i++) expect(ulps(a[o]![i]!, b[o]![i]!), `${o}(${xs[i]}): ${a[o]![i]} vs ${b[o]![i]}`).toBeLessThanOrEqual(o === "e" || o === "f" ? 1 : 0);
  });

  it("kernels that do not suit four lanes stay in JavaScript: a float64 model, fewer than 256 elements, runs shorter than 4, a transposed leaf, an op without lanes, more than 8 leaves", async () => {
    const plans = async (def: Parameters<typeof compileAndLoad>[0], name: string) =>
      (await compileAndLoad(def, name)).program.forward.filter((k) => k.simd?.plan.kind === "map").map((k) => k.out);
    const out = (f: (g: Builder) => void) => ({ build: (g: Builder) => void f(g) });
    expect(await plans({ ...out((g) => g.output("y", g.exp(g.input("x", [4, 64])))), dtype: "float64" }, "map-f64")).toEqual([]);
    expect(await plans(out((g) => void g.output("y", g.exp(g.input("x", [255])))), "map-small")).toEqual([]);
    expect(await plans(out((g) => void g.output("y", g.exp(g.add(g.input("x", [99, 3]), g.input("c", [99, 1]))))), "map-narrow")).toEqual([]);
    expect(await plans(out((g) => void g.output("y", g.mul(g.input("a", [30, 25]), g.transpose(g.input("b", [25, 30]))))), "map-transposed")).toEqual([]);
    expect(await plans(out((g) => void g.output("y", g.tanh(g.input("x", [4, 64])))), "map-nolanes")).toEqual([]);
    const sum = (g: Builder, n: number) => Array.from({ length: n }, (_, i) => g.input(`x${i}`, [4, 64])).reduce((a, b) => g.add(a, b));
    expect(await plans(out((g) => void g.output("y", sum(g, 9))), "map-many")).toEqual([]);
    expect(await plans(out((g) => void g.output("y", sum(g, 8))), "map-eight")).toEqual(["y"]);
    expect(await plans(out((g) => void g.output("y", g.exp(g.input("x", [4, 64])))), "map-yes")).toEqual(["y"]);
  });

  it("the text in the generated file assembles to exactly the bytes the module runs (eˣ and erf's instructions included)", async () => {
    const wabt = await wabtInit();
    const { text } = await compileAndLoad(chains(3, 95), "map-wat");
    const k = kernelsOf(text)!;
    expect(k.wat).toMatch(/f32x4\.nearest/);
    const mod = wabt.parseWat("kernels.wat", k.wat, { simd: true });
    const theirs = new Uint8Array(mod.toBinary({}).buffer);
    mod.destroy();
    expect(Buffer.from(theirs).equals(Buffer.from(k.bytes))).toBe(true);
  });
});
