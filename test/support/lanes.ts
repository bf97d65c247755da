/**
 * Run one lane function of src/wasm (eˣ, erf, …) over a Float32Array: the input is laid out in a
 * module's memory and a map kernel (src/wasm/map.ts) of one leaf computes `f(leaf)` into a second
 * array, four lanes at a time and the tail one lane at a time, as the generated modules run it.
 */
import type { Lanes } from "../../src/ops/types.js";
import { simdMapFunc, type SimdMap } from "../../src/wasm/map.js";
import { wasmModule } from "../../src/wasm/module.js";

type WasmApi = {
  Module: new (b: Uint8Array) => unknown;
  Instance: new (m: unknown, i: object) => { exports: Record<string, unknown> };
};
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** `f` applied to each element of `xs` by a WebAssembly map kernel (a run of xs.length, or rows of `run`). */
export function runLanes(f: <V>(L: Lanes<V>, x: V) => V, xs: Float32Array, run = xs.length): Float32Array {
  const n = xs.length;
  const bytes = n * 4;
  const plan: SimdMap = {
    kind: "map",
    extents: run === n ? [n] : [n / run, run],
    epilogue: { leaves: [{ base: "x", shape: [n], strides: run === n ? [1] : [run, 1], offset: 0 }], build: (L, _acc, leaf) => f(L, leaf(0)) },
  };
  const func = simdMapFunc("f", plan, (b) => (b === "x" ? 0 : bytes), bytes);
  const { bytes: code } = wasmModule([func], Math.ceil((2 * bytes) / 65536) + 1);
  const inst = new wasm.Instance(new wasm.Module(code), {});
  const mem = inst.exports.memory as { buffer: ArrayBuffer };
  new Float32Array(mem.buffer, 0, n).set(xs);
  (inst.exports.f as () => void)();
  return new Float32Array(mem.buffer, bytes, n).slice();
}

const F = new Float32Array(1);
const I = new Int32Array(F.buffer);

/** Distance in float32 ulps (the gap between their positions in the ordered float32 line; NaN to NaN is 0, NaN to a number ∞). */
export function ulps(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  const ord = (v: number) => {
    F[0] = v;
    const i = I[0]!;
    return i < 0 ? -(i & 0x7fffffff) : i;
  };
  return Math.abs(ord(a) - ord(b));
}
