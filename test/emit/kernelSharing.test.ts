/**
 * Kernel sharing (src/emit/share.ts, src/emit/wasm.ts): the steps of an unrolled recurrence are one
 * function each, called per step, so the module of a 32-step LSTM or GRU stays within twice the
 * size of the same model unrolled 2 steps, and the number of shared functions (JavaScript and
 * WebAssembly) does not grow with the steps. Sharing changes no number: a float64 build equals the
 * interpreter and its gradients equal central finite differences of its own loss; a float32 build
 * gives the same numbers with and without its WebAssembly kernels as before (the loops sum alike),
 * and the interpreter's within float32 rounding. Compile time is measured, not asserted: see
 * bench/compileTime.mjs.
 */
import { describe, expect, it } from "vitest";
import { compileDefinition } from "../../src/compile.js";
import { recurrence, type Cell } from "../../bench/recurrence.js";
import { defineModel } from "../../src/index.js";
import { interpret } from "../../src/interp/interp.js";
import { MIN_TEXTS, shareKernels } from "../../src/emit/share.js";
import type { Kernel } from "../../src/lower/program.js";
import { compileAndLoad, randomInputs, rng, scaledErr, type GeneratedModel } from "../support/helpers.js";

const SHARED_JS = /^ {2}function \w+Kernel(?:_\d+)?\(/gm;
const SHARED_WASM = /^ \* {3}\(func \$\w+ \(export "\w+"\)\n \* {5}\(param /gm;
const count = (text: string, re: RegExp) => text.match(re)?.length ?? 0;
const moduleOf = async (cell: Cell, T: number) => (await compileDefinition(defineModel(recurrence(cell, T, "float32")), `${cell}${T}`)).text;

describe("an unrolled recurrence shares its kernels", () => {
  for (const cell of ["lstm", "gru"] as const)
    it(`${cell}: 32 steps are within 2× the bytes of 2 steps; the shared functions are as many at 32 steps as at 8`, async () => {
      const [m2, m8, m32] = [await moduleOf(cell, 2), await moduleOf(cell, 8), await moduleOf(cell, 32)];
      const [b2, b32] = [Buffer.byteLength(m2), Buffer.byteLength(m32)];
      expect(b32, `${cell}: ${b32} bytes at 32 steps, ${b2} at 2`).toBeLessThan(2 * b2);
      expect(count(m8, SHARED_JS), cell).toBeGreaterThanOrEqual(5);
      expect(count(m32, SHARED_JS), cell).toBe(count(m8, SHARED_JS));
      expect(count(m8, SHARED_WASM), cell).toBeGreaterThanOrEqual(1);
      expect(count(m32, SHARED_WASM), cell).toBe(count(m8, SHARED_WASM));
      // every call still says which step's value it computes (the buffer it writes, an argument), with its math and model line
      const calls = [...m32.matchAll(/^ {4}\/\/ (\w+) = .*   \S+\.model\.ts:\d+\n {4}\w+Kernel(?:_\d+)?\(([^)]*)\);$/gm)];
      expect(calls.length).toBeGreaterThan(32 * 5);
      for (const [, name, args] of calls) expect(args!.split(", "), name).toContain(name);
      // each shared function says which kernels share it
      expect(count(m32, /^ {2}\/\/ shared by \d+ kernels, the same loops on other buffers and offsets: \w+/gm)).toBe(count(m32, SHARED_JS));
    });
});

const copy = (xs: Record<string, ArrayLike<number>>) => Object.fromEntries(Object.entries(xs).map(([k, v]) => [k, Float64Array.from(v)]));

function randomParams(m: GeneratedModel, seed: number): void {
  const r = rng(seed);
  for (const p of Object.values(m.params)) for (let i = 0; i < p.length; i++) p[i] = (r() * 2 - 1) * 0.4;
}

describe("shared kernels compute what the inline ones did", () => {
  for (const cell of ["lstm", "gru"] as const)
    it(`${cell}, 5 steps, float64: the interpreter's outputs, loss and gradients; gradients equal central differences of the generated loss`, async () => {
      const { mod, graph, text } = await compileAndLoad(recurrence(cell, 5, "float64", 3, 2, 4), `${cell}-share-f64`);
      expect(count(text, SHARED_JS), cell).toBeGreaterThanOrEqual(5);
      const m = mod.createModel({ seed: 1 });
      randomParams(m, 11);
      const inputs = randomInputs(graph, rng(12));
      const ref = interpret(graph, inputs, copy(m.params));
      expect(scaledErr(m.forward(inputs).out!, ref.outputs.out!)).toBeLessThan(1e-12);
      const loss = m.lossAndGrad(inputs);
      expect(scaledErr([loss], [ref.loss!])).toBeLessThan(1e-12);
      const grads = copy(m.grads);
      for (const [k, gk] of Object.entries(grads)) expect(scaledErr(gk, ref.grads[k]!), `d${k}`).toBeLessThan(1e-12);
      // central differences in float64 on the generated code itself, every element of every param
      const h = 1e-6;
      for (const [k, p] of Object.entries(m.params))
        for (let i = 0; i < p.length; i++) {
          const v = p[i]!;
          p[i] = v + h;
          const up = m.loss(inputs);
          p[i] = v - h;
          const down = m.loss(inputs);
          p[i] = v;
          const fd = (up - down) / (2 * h);
          expect(Math.abs(fd - grads[k]![i]!), `d${k}[${i}]: ${fd} vs ${grads[k]![i]}`).toBeLessThan(1e-7 + 1e-6 * Math.abs(fd));
        }
    });

  for (const cell of ["lstm", "gru"] as const)
    it(`${cell}, 6 steps, float32: the shared WebAssembly kernels give the JavaScript loops' numbers within float32 rounding, and the interpreter's`, async () => {
      const { mod, graph, text } = await compileAndLoad(recurrence(cell, 6, "float32"), `${cell}-share-f32`);
      expect(text).toMatch(/kernels\.mm_\w+\(\w+\.byteOffset/);
      const make = (simd: boolean) => (mod.createModel as (o: { seed: number; simd: boolean }) => GeneratedModel)({ seed: 3, simd });
      const [w, j] = [make(true), make(false)];
      expect([w.engine, j.engine]).toEqual(["wasm-simd", "js"]);
      randomParams(w, 21);
      randomParams(j, 21);
      const inputs = randomInputs(graph, rng(22), Float32Array);
      const ref = interpret(graph, copy(inputs), copy(w.params));
      const [lw, lj] = [w.lossAndGrad(inputs), j.lossAndGrad(inputs)];
      expect(scaledErr([lw], [ref.loss!])).toBeLessThan(1e-5);
      expect(scaledErr([lj], [ref.loss!])).toBeLessThan(1e-5);
      for (const k of Object.keys(w.grads)) {
        expect(scaledErr(w.grads[k]!, ref.grads[k]!), `simd d${k}`).toBeLessThan(1e-4);
        expect(scaledErr(j.grads[k]!, ref.grads[k]!), `js d${k}`).toBeLessThan(1e-4);
      }
    });
});

describe("anti-unification of kernel texts (src/emit/share.ts)", () => {
  const kernel = (out: string, op = "slice") => ({ out, node: { op } }) as unknown as Kernel;
  const loop = (out: string, src: string, index: string) => `for (let i0 = 0; i0 < 4; i0++) {\n  ${out}[i0 * 8] = ${src}[${index}]! * w[i0]!;\n}\n`;
  const types = new Map(["a", "b", "c", "d", "e", "x", "w"].map((n) => [n, "Float32Array"]));

  it("holes that differ become parameters (a missing constant term aligns as + 0); what every kernel shares stays; inputs are parameters", () => {
    const texts = new Map([
      [kernel("a"), loop("a", "x", "i0 * 64 + 56")],
      [kernel("b"), loop("b", "x", "i0 * 64 + 48")],
      [kernel("c"), loop("c", "x", "i0 * 64")],
    ]);
    const s = shareKernels([...texts.keys()], (k) => texts.get(k)!, types, new Set(["x"]), (p) => p);
    expect(s.functions.map((f) => [f.name, f.params.map((p) => `${p.name}: ${p.type}`)])).toEqual([["sliceKernel", ["out: Float32Array", "in0: Float32Array", "at0: number"]]]);
    expect(s.functions[0]!.body).toBe(loop("out", "in0", "i0 * 64 + at0"));
    expect([...s.callOf.values()]).toEqual(["sliceKernel(a, x, 56);", "sliceKernel(b, x, 48);", "sliceKernel(c, x, 0);"]);
  });

  it("in a comment, a hole that differs names its parameter, or reads … (a parameter only a comment used would be unused); no + 0 is added there", () => {
    const texts = new Map(
      ["a", "b", "c"].map((o, t) => [kernel(o), `// ${o} ← x[axis 1: ${7 - t}..${7 - t}] ⊙ w[i0]\n${loop(o, "x", `i0 * 64 + ${8 * (7 - t)}`)}`] as const),
    );
    const s = shareKernels([...texts.keys()], (k) => texts.get(k)!, types, new Set(["x"]), (p) => p);
    expect(s.functions[0]!.params.map((p) => p.name)).toEqual(["out", "in0", "at0"]);
    expect(s.functions[0]!.body).toBe(`// out ← in0[axis 1: …..…] ⊙ w[i0]\n${loop("out", "in0", "i0 * 64 + at0")}`);
  });

  it(`fewer than ${MIN_TEXTS} different texts, other loop bounds, or a constant + 0 everywhere: nothing shared, nothing added`, () => {
    const pair = new Map([
      [kernel("a"), loop("a", "d", "i0")],
      [kernel("b"), loop("b", "e", "i0")],
    ]);
    expect(shareKernels([...pair.keys()], (k) => pair.get(k)!, types, new Set(), (p) => p).functions).toEqual([]);
    const bounds = new Map([...pair, [kernel("c"), loop("c", "d", "i0").replace("i0 < 4", "i0 < 5")]]);
    expect(shareKernels([...bounds.keys()], (k) => bounds.get(k)!, types, new Set(), (p) => p).functions).toEqual([]);
    const three = new Map([...pair, [kernel("c"), loop("c", "x", "i0")]]);
    const s = shareKernels([...three.keys()], (k) => three.get(k)!, types, new Set(), (p) => p);
    expect(s.functions[0]!.body).toBe(loop("out", "in0", "i0"));
  });
});
