/**
 * Parameter initialisation (`createModel({ seed })`): the documented formulas, checked on
 * large params by their statistics (mean, std, bounds), and exactly against the documented
 * generator: mulberry32 seeded by `seed` (default 0), one stream for the whole model, consumed
 * by the params in declaration order (zeros and ones consume nothing);
 *   uniform U(low, high): a[i] = low + (high − low)·u
 *   normal N(0, std²) by Box–Muller, a pair at a time: r = √(−2·ln(1 − u₁)), θ = 2π·u₂,
 *     a[i] = std·r·cos θ, a[i+1] = std·r·sin θ (an odd length drops the last sine)
 *   xavier = uniform ±√(6/(fan_in + fan_out)); he = normal with std √(2/fan_in);
 *   fans as PyTorch's: with ≥ 2 axes fan_in = prod(shape[1:]), fan_out = shape[0]·prod(shape[2:])
 *   (a [out, in] weight: fan_in = in; a conv weight [O, C, kh, kw]: fan_in = C·kh·kw).
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { compileAndLoad, rng } from "../support/helpers.js";

const SHAPES = {
  X: [300, 200], // default for ≥ 2 axes: xavier, fan_in 200, fan_out 300
  H: [250, 160], // he, fan_in 160
  X3: [10, 30, 200], // xavier on 3 axes: fan_in 30·200 = 6000, fan_out 10·200 = 2000
  N: [50001], // normal, std 0.3 (odd length)
  N0: [40000], // normal, default std 0.01
  U: [60000], // uniform [-2, 3]
  U0: [60000], // uniform, default ±0.05
  Z: [7], // default for 1 axis: zeros
  O: [3, 4], // ones
  C: [64, 16, 5, 5], // he on a conv weight: fan_in 16·5·5 = 400 (not kw = 5)
} as const;

async function load(dtype: "float32" | "float64") {
  const { mod } = await compileAndLoad(
    {
      dtype,
      build(g) {
        const x = g.input("x", [1, 200]);
        const X = g.param("X", [...SHAPES.X]);
        const H = g.param("H", [...SHAPES.H], { init: "he" });
        const X3 = g.param("X3", [...SHAPES.X3], { init: "xavier" });
        const N = g.param("N", [...SHAPES.N], { init: "normal", std: 0.3 });
        const N0 = g.param("N0", [...SHAPES.N0], { init: "normal" });
        const U = g.param("U", [...SHAPES.U], { init: "uniform", low: -2, high: 3 });
        const U0 = g.param("U0", [...SHAPES.U0], { init: "uniform" });
        const Z = g.param("Z", [...SHAPES.Z]);
        const O = g.param("O", [...SHAPES.O], { init: "ones" });
        const C = g.param("C", [...SHAPES.C], { init: "he" });
        const s = (t: Parameters<typeof g.sum>[0]) => g.sum(t);
        // a loss that uses every param
        return g.add(g.add(g.add(s(g.linear(x, X)), s(H)), g.add(s(X3), s(N))), g.add(g.add(s(N0), s(U)), g.add(g.add(s(U0), s(Z)), g.add(s(O), s(C)))));
      },
    },
    `init-${dtype}`,
  );
  return mod;
}

function stats(a: ArrayLike<number>) {
  let s = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < a.length; i++) {
    s += a[i]!;
    min = Math.min(min, a[i]!);
    max = Math.max(max, a[i]!);
  }
  const mean = s / a.length;
  let q = 0;
  let within1 = 0;
  for (let i = 0; i < a.length; i++) q += (a[i]! - mean) ** 2;
  const std = Math.sqrt(q / a.length);
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i]!) <= std) within1++;
  return { mean, std, min, max, within1: within1 / a.length, n: a.length };
}

describe.each(["float64", "float32"] as const)("init, %s", (dtype) => {
  it("statistics of every init on large params", async () => {
    const m = (await load(dtype)).createModel({ seed: 11 });
    const p = m.params;
    /** A uniform U(lo, hi): mean (lo+hi)/2 and std (hi−lo)/√12 within 5 standard errors / 2 %, bounds respected and nearly reached. */
    const uniform = (a: ArrayLike<number>, lo: number, hi: number) => {
      const s = stats(a);
      const sd = (hi - lo) / Math.sqrt(12);
      expect(Math.abs(s.mean - (lo + hi) / 2)).toBeLessThan((5 * sd) / Math.sqrt(s.n));
      expect(Math.abs(s.std / sd - 1)).toBeLessThan(0.02);
      expect(s.min).toBeGreaterThanOrEqual(dtype === "float32" ? Math.fround(lo) : lo);
      expect(s.max).toBeLessThanOrEqual(dtype === "float32" ? Math.fround(hi) : hi);
      expect(s.min - lo).toBeLessThan((hi - lo) * 1e-3);
      expect(hi - s.max).toBeLessThan((hi - lo) * 1e-3);
    };
    /** A normal N(0, sd²): mean within 5 standard errors, std within 2 %, 68.3 % within one std, no value past 6 std. */
    const normal = (a: ArrayLike<number>, sd: number) => {
      const s = stats(a);
      expect(Math.abs(s.mean)).toBeLessThan((5 * sd) / Math.sqrt(s.n));
      expect(Math.abs(s.std / sd - 1)).toBeLessThan(0.02);
      expect(Math.abs(s.within1 - 0.6827)).toBeLessThan(0.015);
      expect(Math.max(-s.min, s.max)).toBeLessThan(6 * sd);
    };
    uniform(p.X!, -Math.sqrt(6 / 500), Math.sqrt(6 / 500));
    normal(p.H!, Math.sqrt(2 / 160));
    uniform(p.X3!, -Math.sqrt(6 / 8000), Math.sqrt(6 / 8000));
    normal(p.N!, 0.3);
    normal(p.N0!, 0.01);
    uniform(p.U!, -2, 3);
    uniform(p.U0!, -0.05, 0.05);
    expect([...p.Z!]).toEqual(new Array(7).fill(0));
    expect([...p.O!]).toEqual(new Array(12).fill(1));
    // a conv weight's empirical std is √(2/fan_in) with fan_in = C·kh·kw = 400 (PyTorch's kaiming_normal_)
    normal(p.C!, Math.sqrt(2 / 400));
  });

  it("exactly the documented generator and formulas, in declaration order", async () => {
    const m = (await load(dtype)).createModel({ seed: 123 });
    const rand = rng(123);
    const st = dtype === "float32" ? Math.fround : (v: number) => v;
    const uniform = (n: number, lo: number, hi: number) => Array.from({ length: n }, () => st(lo + (hi - lo) * rand()));
    const normal = (n: number, sd: number) => {
      const out: number[] = [];
      while (out.length < n) {
        const r = Math.sqrt(-2 * Math.log(1 - rand()));
        const theta = 2 * Math.PI * rand();
        out.push(st(sd * r * Math.cos(theta)));
        if (out.length < n) out.push(st(sd * r * Math.sin(theta)));
      }
      return out;
    };
    const lim = Math.sqrt(6 / 500);
    const expected: Record<string, number[]> = {
      X: uniform(60000, -lim, lim),
      H: normal(40000, Math.sqrt(2 / 160)),
      X3: uniform(60000, -Math.sqrt(6 / 8000), Math.sqrt(6 / 8000)),
      N: normal(50001, 0.3),
      N0: normal(40000, 0.01),
      U: uniform(60000, -2, 3),
      U0: uniform(60000, -0.05, 0.05),
      C: normal(25600, Math.sqrt(2 / 400)),
    };
    for (const [k, v] of Object.entries(expected)) expect(Array.from(m.params[k]!), k).toEqual(v);
  });

  it("same seed → same bytes; different seeds → different; the default seed is 0", async () => {
    const mod = await load(dtype);
    /** Each param's bytes, as one hex digest line per param (fast to compare, unlike 10⁵-element arrays). */
    const bytes = (seed?: number) => {
      const m = mod.createModel(seed === undefined ? {} : { seed });
      return Object.values(m.params).map((a) => createHash("sha256").update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest("hex"));
    };
    expect(bytes(5)).toEqual(bytes(5));
    expect(bytes()).toEqual(bytes(0));
    const a = bytes(5);
    const b = bytes(6);
    for (const k of [0, 1, 2, 3, 4, 5, 6]) expect(a[k]).not.toBe(b[k]); // every random param differs
    expect(a[7]).toBe(b[7]); // zeros
    expect(a[8]).toBe(b[8]); // ones
    // seeds are 32-bit: 2³² + 5 is seed 5
    expect(bytes(2 ** 32 + 5)).toEqual(a);
  });
});
