/**
 * A kernel's WebAssembly SIMD plan: a matmul (src/wasm/matmul.ts), a convolution (src/wasm/conv.ts),
 * attention (src/wasm/attention.ts), max pooling (src/wasm/pool.ts) or an elementwise map
 * (src/wasm/map.ts), told apart by `kind`.
 * What the lowering and the emitter ask of a plan, in one place: the buffers it reads, whether a
 * fused epilogue fits its lanes, its function, and a line saying how it runs.
 */
import type { View } from "../lower/view.js";
import { attentionHow, attentionReads, simdAttentionFunc, type SimdAttention } from "./attention.js";
import { convEpilogueFits, convHow, convReads, simdConvFunc, type SimdConv } from "./conv.js";
import { bufferReads as matmulReads, epilogueFits as matmulEpilogueFits, simdMatmulFunc, type SimdMatmul } from "./matmul.js";
import { mapHow, mapReads, simdMapFunc, type SimdMap } from "./map.js";
import type { Func } from "./module.js";
import { planPoolPrefix, poolHow, poolReads, simdPoolFunc, type SimdPool } from "./pool.js";

export type SimdPlan = SimdMatmul | SimdConv | SimdAttention | SimdPool | SimdMap;

/** The buffers the kernel reads (all must live in the arena). */
export function bufferReads(p: SimdPlan): string[] {
  switch (p.kind) {
    case "matmul":
      return matmulReads(p);
    case "conv":
      return convReads(p);
    case "attention":
      return attentionReads(p);
    case "pool":
      return poolReads(p);
    case "map":
      return mapReads(p);
  }
}

/** Whether the kernel can apply an elementwise epilogue reading `leaves` in its lanes (attention, a pooling, whose output may be int32, and a map, which is all epilogue, take none). */
export function epilogueFits(p: SimdPlan, leaves: readonly View[]): boolean {
  switch (p.kind) {
    case "matmul":
      return matmulEpilogueFits(p, leaves);
    case "conv":
      return convEpilogueFits(p, leaves);
    case "attention":
    case "pool":
    case "map":
      return false;
  }
}

/** The kernel as a function named `name`; `addr(base)` is a buffer's arena byte offset, `out` the output's. */
export function simdFunc(name: string, p: SimdPlan, addr: (base: string) => number, out: number): Func {
  switch (p.kind) {
    case "matmul":
      return simdMatmulFunc(name, p, addr, out);
    case "conv":
      return simdConvFunc(name, p, addr, out);
    case "attention":
      return simdAttentionFunc(name, p, addr, out);
    case "pool":
      return simdPoolFunc(name, p, addr, out);
    case "map":
      return simdMapFunc(name, p, addr, out);
  }
}

/** How it runs, for comments and `explain`. */
export function simdHow(p: SimdPlan): string {
  switch (p.kind) {
    case "matmul":
      return p.mode === "along-j" ? "blocks of 4 rows × 8 columns, f32x4 along the columns" : "blocks of 2 rows × 4 columns, f32x4 along k";
    case "conv":
      return convHow(p);
    case "attention":
      return attentionHow(p);
    case "pool":
      return poolHow(p);
    case "map":
      return mapHow(p);
  }
}

/** The prefix of the kernel's function name in the module (`mm_dW3`, `conv_p1_relu`, `attn_o_P`, `pool_p1_argmax`, `map_x2_add`). */
export const simdPrefix = (p: SimdPlan): string => ({ matmul: "mm", conv: "conv", attention: "attn", pool: planPoolPrefix, map: "map" })[p.kind];
