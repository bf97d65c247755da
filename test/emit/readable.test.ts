/**
 * The readable build (`--readable`): every matmul a plain triple loop, with no register
 * blocking and no WebAssembly. It is for reading, so it must give the numbers of the normal
 * build: in float64 the same outputs, loss and gradients (the same sums in the same order) and
 * the interpreter's; in float32 exactly the normal build's plain-JavaScript engine. It
 * type-checks under a user's strict flags.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadModelFile } from "../../src/front/load.js";
import { defineModel, type ModelDefinition } from "../../src/index.js";
import { interpret } from "../../src/interp/interp.js";
import { compileAndLoad, maxRelErr, randomInputs, rng, ROOT, scaledErr, type GeneratedModel } from "../support/helpers.js";
import { typecheck } from "../support/typecheck.js";

const committed = async (base: string) => (await loadModelFile(path.join(ROOT, "models", `${base}.model.ts`))).exported as ModelDefinition;

const shapes: Record<string, ModelDefinition> = {
  // vector·matrix, matrix·vector and vector·vector (a scalar)
  "one-d": {
    build(g) {
      const x = g.input("x", [5]);
      const h = g.tanh(g.matmul(x, g.param("W", [5, 4])));
      const o = g.matmul(g.param("V", [3, 4]), h);
      g.output("o", o);
      const dot = g.matmul(o, g.param("u", [3]));
      return g.add(g.mse(o, g.input("y", [3])), g.mul(dot, dot));
    },
  },
  // a batch times a matrix, a batch times a batch, a batch axis of size 1 broadcast, a transposed batch
  batched: {
    build(g) {
      const x = g.input("x", [2, 3, 4]);
      const h = g.relu(g.matmul(x, g.param("W", [4, 5])));
      const z = g.matmul(h, g.param("P", [2, 5, 3]));
      const o = g.matmul(z, g.param("Q", [1, 3, 2]));
      const t = g.matmul(g.transpose(z, [0, 2, 1]), g.param("R", [2, 3, 2]));
      g.output("o", o);
      return g.add(g.mse(o, g.input("y", [2, 3, 2])), g.mean(g.square(t)));
    },
  },
  // Aᵀ·B, A·Bᵀ and Aᵀ·Bᵀ, then a linear layer whose bias and tanh are applied at the store
  transposed: {
    build(g) {
      const x = g.input("x", [4, 6]);
      const t1 = g.matmul(g.transpose(x), g.param("P", [4, 5]));
      const t2 = g.matmul(t1, g.transpose(g.param("B", [3, 5])));
      const t3 = g.matmul(g.transpose(t2), g.transpose(g.param("C", [2, 6])));
      const o = g.tanh(g.linear(t3, g.param("W", [4, 2]), g.param("b", [4])));
      g.output("o", o);
      return g.mse(o, g.input("y", [3, 4]));
    },
  },
};

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
/** Readable modules, written for the type-check at the end. */
const written = new Map<string, string>();

/** The same random params in both models. */
function sameParams(a: GeneratedModel, b: GeneratedModel, seed: number): void {
  const r = rng(seed);
  for (const [k, p] of Object.entries(a.params)) {
    for (let i = 0; i < p.length; i++) p[i] = (r() * 2 - 1) * 0.5;
    b.params[k]!.set(p);
  }
}

const copy = (xs: Record<string, ArrayLike<number>>) => Object.fromEntries(Object.entries(xs).map(([k, v]) => [k, Float64Array.from(v)]));

describe("--readable", () => {
  const float64 = async (): Promise<[string, ModelDefinition][]> => [
    ["seed-net", { ...(await committed("seed-net")), dtype: "float64" }],
    ["digits-mlp", { ...(await committed("digits-mlp")), dtype: "float64" }],
    ...Object.entries(shapes).map(([k, d]): [string, ModelDefinition] => [k, { ...d, dtype: "float64" }]),
  ];

  it("float64: the same outputs, loss and gradients as the normal build (1e-12 relative) and as the interpreter", async () => {
    for (const [name, def] of await float64()) {
      const normal = await compileAndLoad(def, `${name}-normal`);
      const readable = await compileAndLoad(def, `${name}-readable`, { readable: true });
      written.set(`${name}-f64.ts`, readable.text);
      // the normal build blocks its matmuls in registers; the readable one writes the textbook loop
      expect(normal.text, name).toMatch(/\bacc00\b/);
      expect(readable.text, name).not.toMatch(/\bacc\d\d\b|\b(ai|bj|ra|cb)\d\b/);
      expect(readable.text, name).toMatch(/^\s*let acc = 0;\n\s*(for \(let p = 0; p < \d+; p\+\+\) )?acc \+= \w+\[[^\]]+\]! \* \w+\[[^\]]+\]!;$/m);
      const [mn, mr] = [normal.mod.createModel({ seed: 1 }), readable.mod.createModel({ seed: 1 })];
      sameParams(mn, mr, 5);
      const inputs = randomInputs(normal.graph, rng(7));
      const ref = interpret(normal.graph, inputs, copy(mn.params));
      const [outN, outR] = [copy(mn.forward(inputs)), copy(mr.forward(inputs))];
      expect(Object.keys(outR).length, name).toBeGreaterThan(0);
      for (const k of Object.keys(outN)) {
        expect(maxRelErr(outR[k]!, outN[k]!), `${name}: ${k}`).toBeLessThan(1e-12);
        expect(scaledErr(outR[k]!, ref.outputs[k]!), `${name}: ${k} against the interpreter`).toBeLessThan(1e-12);
      }
      const [lossN, lossR] = [mn.lossAndGrad(inputs), mr.lossAndGrad(inputs)];
      expect(maxRelErr([lossR], [lossN]), `${name}: loss`).toBeLessThan(1e-12);
      expect(maxRelErr([lossR], [ref.loss!]), `${name}: loss against the interpreter`).toBeLessThan(1e-12);
      for (const k of Object.keys(mn.grads)) {
        expect(maxRelErr(mr.grads[k]!, mn.grads[k]!), `${name}: d${k}`).toBeLessThan(1e-12);
        expect(scaledErr(mr.grads[k]!, ref.grads[k]!), `${name}: d${k} against the interpreter`).toBeLessThan(1e-12);
      }
    }
  });

  it("float32 (the committed models): no WebAssembly, and exactly the numbers of the normal build's JavaScript loops", async () => {
    for (const name of ["seed-net", "digits-mlp"]) {
      const def = await committed(name);
      const normal = await compileAndLoad(def, `${name}-normal`);
      const readable = await compileAndLoad(def, `${name}-readable`, { readable: true });
      written.set(`${name}.ts`, readable.text);
      expect(normal.text).toContain("WASM_KERNELS");
      for (const wasm of ["WASM_KERNELS", "wasmKernels", "(WAT)", "x_copy"]) expect(readable.text, `${name}: ${wasm}`).not.toContain(wasm);
      const wasmCode = /WasmApi|\.WebAssembly\b|in WebAssembly SIMD/;
      expect(normal.text).toMatch(wasmCode);
      expect(readable.text).not.toMatch(wasmCode);
      expect(readable.text).toContain("// A readable build (--readable)");
      expect(readable.text).not.toMatch(/\bacc\d\d\b/);
      // the normal build's JavaScript engine (simd: false) sums in the same order: equal, not close
      const mn = (normal.mod.createModel as (o: { seed: number; simd: boolean }) => GeneratedModel)({ seed: 2, simd: false });
      const mr = readable.mod.createModel({ seed: 2 });
      expect(mr.engine).toBe("js");
      expect(copy(mr.params)).toEqual(copy(mn.params));
      const inputs = randomInputs(normal.graph, rng(3), Float32Array);
      expect(copy(mr.forward(inputs))).toEqual(copy(mn.forward(inputs)));
      const losses = [0, 1, 2].map(() => [mr.step(inputs), mn.step(inputs)]);
      for (const [r, n] of losses) expect(r).toBe(n);
      expect(copy(mr.grads)).toEqual(copy(mn.grads));
      expect(copy(mr.params)).toEqual(copy(mn.params));
    }
  });

  it("type-checks under every strict flag (a debug build too)", async () => {
    expect(written.size).toBe(7);
    const dir = mkdtempSync(path.join(os.tmpdir(), "flatgrad-readable-"));
    dirs.push(dir);
    for (const [f, text] of written) writeFileSync(path.join(dir, f), text);
    const debug = await compileAndLoad(defineModel({ ...shapes.batched! }), "batched-debug", { readable: true, debug: true });
    expect(debug.text).toContain("// A readable build (--readable)");
    writeFileSync(path.join(dir, "batched-debug.ts"), debug.text);
    expect(typecheck(dir, ["*.ts"])).toBe("");
  });
});
