/**
 * createModelAsync: the kernels compiled with WebAssembly.compile, then the same model as createModel's
 * (same params for a seed, same engine, the same losses step by step), in a module with SIMD kernels
 * and in one without any.
 */
import { describe, expect, it, vi } from "vitest";
import { loadGenerated } from "../support/data.js";
import { compileAndLoad, rng, type GeneratedModel } from "../support/helpers.js";

/** The global WebAssembly object (the project's lib has no DOM types, and @types/node does not declare it). */
const host = globalThis as unknown as { WebAssembly: { compile: () => unknown; Module: () => unknown } | undefined };
const wasmApi = host.WebAssembly!;

function batch(n: number, inDim: number, outDim: number, seed: number, Arr: Float32ArrayConstructor | Float64ArrayConstructor) {
  const r = rng(seed);
  const x = new Arr(n * inDim).map(() => r() * 2 - 1);
  const y = new Arr(n * outDim);
  for (let i = 0; i < n; i++) y[i * outDim + Math.floor(r() * outDim)] = 1;
  return { x, y };
}

/** Both models take the same steps; every loss and every param agrees bit for bit. */
function sameTraining(a: GeneratedModel, b: GeneratedModel, inputs: Record<string, Float32Array | Float64Array>) {
  expect(Object.keys(b.params)).toEqual(Object.keys(a.params));
  for (const k of Object.keys(a.params)) expect(b.params[k]).toEqual(a.params[k]);
  for (let s = 0; s < 3; s++) expect(b.step(inputs)).toBe(a.step(inputs));
  for (const k of Object.keys(a.params)) expect(b.params[k]).toEqual(a.params[k]);
}

describe("createModelAsync", () => {
  it("digits-mlp (SIMD kernels): WebAssembly.compile is used, and the model is createModel's", async () => {
    const mod = await loadGenerated("digits-mlp");
    const compile = vi.spyOn(wasmApi, "compile");
    const sync = vi.spyOn(wasmApi, "Module");
    try {
      const m = await mod.createModelAsync({ seed: 7 });
      expect(compile).toHaveBeenCalledTimes(1);
      expect(sync).not.toHaveBeenCalled();
      expect(m.engine).toBe("wasm-simd");
      const ref = mod.createModel({ seed: 7 });
      expect(ref.engine).toBe("wasm-simd");
      const [xs, ys] = [mod.spec.inputs.x!, mod.spec.inputs.y!];
      sameTraining(ref, m, batch(xs[0]!, xs[1]!, ys[1]!, 3, Float32Array));
    } finally {
      compile.mockRestore();
      sync.mockRestore();
    }
  });

  it("two async models have their own memory; simd: false gives the loops", async () => {
    const mod = await loadGenerated("digits-mlp");
    const [a, b] = await Promise.all([mod.createModelAsync({ seed: 1 }), mod.createModelAsync({ seed: 1 })]);
    const k = Object.keys(a.params)[0]!;
    a.params[k]![0] = 42;
    expect(b.params[k]![0]).not.toBe(42);
    const loops = await mod.createModelAsync({ seed: 1, simd: false });
    expect(loops.engine).toBe("js");
    expect(loops.params[k]).toEqual(b.params[k]);
  });

  it("where the platform has no WebAssembly, the async path gives the loops, like createModel", async () => {
    const mod = await loadGenerated("digits-mlp");
    host.WebAssembly = undefined;
    try {
      expect((await mod.createModelAsync({ seed: 2 })).engine).toBe("js");
      expect(mod.createModel({ seed: 2 }).engine).toBe("js");
    } finally {
      host.WebAssembly = wasmApi;
    }
  });

  it("a module without kernels (float64) exports createModelAsync too: the same model", async () => {
    const { mod, text } = await compileAndLoad({
      dtype: "float64",
      build(g) {
        const x = g.input("x", [4, 3]);
        const y = g.input("y", [4, 2]);
        return g.mse(g.linear(x, g.param("W", [2, 3]), g.param("b", [2])), y);
      },
    });
    expect(text).not.toContain("WASM_KERNELS");
    expect(text).toContain("export async function createModelAsync");
    const m = await mod.createModelAsync({ seed: 5 });
    expect(m.engine).toBe("js");
    sameTraining(mod.createModel({ seed: 5 }), m, batch(4, 3, 2, 9, Float64Array));
  });
});
