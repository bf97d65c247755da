/**
 * A kernel's WebAssembly SIMD plan: a matmul (src/wasm/matmul.ts), a convolution
 * (src/wasm/conv.ts) or an elementwise map (src/wasm/map.ts), told apart by `kind`. What the lowering and the emitter ask of a plan, in one
 * place: the buffers it reads, whether a fused epilogue fits its lanes, its function, and a line
 * saying how it runs.
 */
import type { View } from "../lower/view.js";
import { convEpilogueFits, convHow, convReads, simdConvFunc, type SimdConv } from "./conv.js";
import { bufferReads as matmulReads, epilogueFits as matmulEpilogueFits, simdMatmulFunc, type SimdMatmul } from "./matmul.js";
import { mapHow, mapReads, simdMapFunc, type SimdMap } from "./map.js";
import type { Func } from "./module.js";

export type SimdPlan = SimdMatmul | SimdConv | SimdMap;

/** The buffers the kernel reads (all must live in the arena). */
export const bufferReads = (p: SimdPlan): string[] => (p.kind === "map" ? mapReads(p) : p.kind === "conv" ? convReads(p) : matmulReads(p));

/** Whether the kernel can apply an elementwise epilogue reading `leaves` in its lanes (a map is all epilogue: it takes none). */
export const epilogueFits = (p: SimdPlan, leaves: readonly View[]): boolean => (p.kind === "map" ? false : p.kind === "conv" ? convEpilogueFits(p, leaves) : matmulEpilogueFits(p, leaves));

/** The kernel as a function named `name`; `addr(base)` is a buffer's arena byte offset, `out` the output's. */
export const simdFunc = (name: string, p: SimdPlan, addr: (base: string) => number, out: number): Func => (p.kind === "map" ? simdMapFunc(name, p, addr, out) : p.kind === "conv" ? simdConvFunc(name, p, addr, out) : simdMatmulFunc(name, p, addr, out));

/** How it runs, for comments and `explain`. */
export const simdHow = (p: SimdPlan): string =>
  p.kind === "map" ? mapHow(p) : p.kind === "conv" ? convHow(p) : p.mode === "along-j" ? "blocks of 4 rows × 8 columns, f32x4 along the columns" : "blocks of 4 rows × 2 columns, f32x4 along k";
