/**
 * Max pooling in WebAssembly (src/wasm/pool.ts). The SIMD first maximum (training's argmax over 2×2
 * windows at stride 2) gives exactly the positions of the plain loops (`simd: false`) and of the
 * float64 interpreter, and eval mode's SIMD maximum exactly their values, with ties (x on a coarse
 * grid, and all-equal windows), NaN (the first NaN of a window wins), ±∞ and −0, over rows of 4
 * windows, rows that end with an overlapping vector (OW not a multiple of 4), odd H and W (a last
 * row and column no window reads) and 3-D x; other windows, strides, padding and rows of fewer than
 * 4 windows run the loops. The gather Y = X[argmax] (X's maxima again, for its own 2×2 argmax) and
 * the scatter dX[argmax] += dY run in WebAssembly for every window (overlapping and padded ones too; 2×2 windows that tile the plane are
 * written whole, each cell once): the same loss and the same dX bits as the loops (−0 in dY
 * included), and dX equal to the interpreter's. The text in the generated file assembles to the
 * bytes the module runs.
 */
import { describe, expect, it } from "vitest";
import wabtInit from "wabt";
import type { Builder } from "../../src/dsl/builder.js";
import { interpret } from "../../src/interp/interp.js";
import { compileAndLoad, kernelsOf, maxRelErr, rng, type GeneratedModel } from "../support/helpers.js";

interface Case {
  x: number[];
  kernel: number[];
  stride: number[];
  padding: number[];
  simd: boolean;
}
const win = (k: number, s = k, p = 0) => ({ kernel: [k, k], stride: [s, s], padding: [p, p] });
const cases: Case[] = [
  { x: [2, 3, 8, 8], ...win(2), simd: true }, // OW 4: one vector per row
  { x: [1, 2, 10, 26], ...win(2), simd: true }, // OW 13: three vectors, then one at OW − 4
  { x: [1, 1, 7, 9], ...win(2), simd: true }, // odd H and W: the last row and column are read by no window
  { x: [3, 6, 11], ...win(2), simd: true }, // 3-D x, OW 5
  { x: [64, 2, 24, 24], ...win(2), simd: true }, // LeNet's first pooling, two channels
  { x: [1, 2, 6, 6], ...win(2), simd: false }, // OW 3: the loops
  { x: [1, 2, 9, 12], ...win(3), simd: false }, // 3×3 windows: the loops
  { x: [1, 2, 8, 12], ...win(2, 1), simd: false }, // stride 1: the loops
  { x: [1, 2, 8, 12], ...win(2, 2, 1), simd: false }, // padding: the loops
];

const net = (c: Case) => ({
  dtype: "float32" as const,
  build(g: Builder) {
    // x is a param so that training scatters dY to it: argmax, Y = X[argmax] and dX[argmax] += dY all run
    const x = g.param("x", c.x);
    const opts = { stride: c.stride, padding: c.padding };
    const idx = g.maxPool2dIndex(x, { kernel: c.kernel, ...opts });
    g.output("idx", idx);
    // another tensor read at x's argmax: the gather itself, one load per output (not −x, which
    // simplify turns into −(x[argmax]), x's maxima again)
    g.output("q", g.maxPool2dGather(g.sub(0, x), idx));
    const p = g.maxPool2d(x, c.kernel, opts);
    g.output("p", p);
    return g.sum(g.mul(p, g.input("r", [...p.shape])));
  },
});

/** x on a grid of 3 values (most windows tie), with NaN, ±∞ and −0 sprinkled, and some windows all equal. */
function values(n: number, seed: number): Float32Array {
  const rand = rng(seed);
  const x = Float32Array.from({ length: n }, () => Math.floor(rand() * 3) - 1);
  for (let i = 0; i < n; i++) {
    const u = rand();
    if (u < 0.04) x[i] = NaN;
    else if (u < 0.07) x[i] = -Infinity;
    else if (u < 0.09) x[i] = Infinity;
    else if (u < 0.12) x[i] = -0;
  }
  // a run of equal values (constant windows: the first cell wins) and a run of NaN (the first NaN wins)
  x.fill(2, Math.floor(n / 3), Math.floor(n / 3) + 40);
  x.fill(NaN, Math.floor(n / 2), Math.floor(n / 2) + 40);
  return x;
}

describe("WebAssembly SIMD max pooling: the first maximum", () => {
  for (const [i, c] of cases.entries())
    it(`x ${JSON.stringify(c.x)}, ${c.kernel.join("×")} windows at stride ${c.stride[0]}${c.padding[0] ? `, padding ${c.padding[0]}` : ""}: argmax SIMD ${c.simd ? "kernel" : "not planned"}, gather and scatter in WebAssembly; both engines equal the interpreter`, async () => {
      const { mod, graph, program } = await compileAndLoad(net(c), `simdpool-${i}`);
      const modes = (ks: typeof program.train) => [...new Set(ks.flatMap((k) => (k.simd?.plan.kind === "pool" ? [k.simd.plan.mode] : [])))].sort();
      // eval mode (forward, model.loss) runs the maximum itself, training its position, X[argmax] and the scatter
      expect(modes(program.forward)).toEqual(c.simd ? ["argmax", "gather", "max"] : ["gather"]);
      // Y = X[argmax] of X's own 2×2 argmax is each window's maximum again, computed as eval mode does
      expect(modes(program.train)).toEqual(c.simd ? ["argmax", "max", "scatter"] : ["gather", "scatter"]);
      // the scatter writes 2×2 windows whole (no zeros first) when they tile the plane: H and W even
      const [H, W] = c.x.slice(-2) as [number, number];
      const scatter = program.train.find((k) => k.simd?.plan.kind === "pool" && k.simd.plan.mode === "scatter")!.simd!.plan;
      expect(scatter.kind === "pool" && scatter.mode === "scatter" && scatter.windows).toBe(c.simd && H % 2 === 0 && W % 2 === 0);
      const simd = mod.createModel() as GeneratedModel & { engine: string };
      const js = mod.createModel({ simd: false } as object) as GeneratedModel & { engine: string };
      expect([simd.engine, js.engine]).toEqual(["wasm-simd", "js"]);
      const n = (s: number[]) => s.reduce((a, d) => a * d, 1);
      for (const seed of [1, 2, 3]) {
        const x = values(n(c.x), 40 * i + seed);
        const r = Float32Array.from(values(n(graph.inputs.get("r")!.shape as number[]), 7 * i + seed), (v) => (Object.is(v, -0) ? -0 : Number.isFinite(v) ? v + 0.25 : 0.5));
        const ref = interpret(graph, { r: Float64Array.from(r) }, { x: Float64Array.from(x) });
        expect(ref.outputs.idx!.some((v, o) => v !== ref.outputs.idx![o - 1])).toBe(true);
        const dx: Float32Array[] = [];
        for (const m of [simd, js]) m.params.x!.set(x);
        for (const m of [simd, js]) {
          const out = m.forward({ r });
          expect([...out.idx!], `${m.engine} idx`).toEqual([...ref.outputs.idx!]);
          // the maxima (NaN, ±∞ and −0 included) are x's own values: equal to the interpreter's, bit for bit but NaN's payload
          const bits = (a: Iterable<number>) => [...a].map((v) => (Object.is(v, -0) ? "-0" : v));
          expect(bits(out.p!), `${m.engine} p`).toEqual(bits(ref.outputs.p!));
          expect(bits(out.q!), `${m.engine} q`).toEqual(bits(ref.outputs.q!));
          // Y = X[argmax] holds NaN and ±∞, so the loss can be any of them; both engines give the same
          expect(m.lossAndGrad({ r }), `${m.engine} loss`).toEqual(js.lossAndGrad({ r }));
          dx.push(Float32Array.from(m.grads.x!));
          // dX sums at most a few values of r: float32 rounding only
          expect(maxRelErr(m.grads.x!, ref.grads.x!, 1), `${m.engine} dX`).toBeLessThan(1e-6);
        }
        // the scatter adds in the loops' order, or writes each cell's one value (+0 for −0, as 0 + dY): the same bits
        expect(new Uint32Array(dx[0]!.buffer)).toEqual(new Uint32Array(dx[1]!.buffer));
      }
    });

  it("the text in the generated file assembles to exactly the bytes the module runs", async () => {
    const wabt = await wabtInit();
    // [1, 2, 10, 26]: the scatter writes windows whole; [1, 1, 7, 9]: zeros, then the scatter; 3×3 windows: the gather
    for (const [i, scatter] of [[1, /each cell written once/], [2, /dX = 0; dX\[argmax\] \+= dY/], [6, /Y = X\[argmax\]/]] as const) {
      const { text } = await compileAndLoad(net(cases[i]!), `simdpool-wat-${i}`);
      const { bytes, wat } = kernelsOf(text)!;
      for (const re of [/func \$pool_/, scatter]) expect(wat).toMatch(re);
      const mod = wabt.parseWat("kernels.wat", wat, { simd: true });
      const theirs = new Uint8Array(mod.toBinary({}).buffer);
      mod.destroy();
      expect(Buffer.from(theirs).equals(Buffer.from(bytes))).toBe(true);
    }
  });
});
