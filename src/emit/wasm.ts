/** The WebAssembly SIMD kernels of a program, addressed in its arena: bytes for the module and WAT text for its closing comment. */
import type { Kernel, Program } from "../lower/program.js";
import { simdFunc } from "../wasm/plan.js";
import { wasmModule } from "../wasm/module.js";

/** The WebAssembly SIMD kernels of a program: one function per matmul or convolution with a SIMD plan, addressing the arena; undefined when there are none. */
export function wasmKernelsOf(prog: Program, arenaBytes: number): { names: Map<Kernel, string>; bytes: Uint8Array; wat: string } | undefined {
  const simd = [...new Set([...prog.forward, ...prog.train].filter((k) => k.simd))];
  if (!simd.length) return undefined;
  const names = new Map(simd.map((k) => [k, `${k.simd!.plan.kind === "conv" ? "conv" : "mm"}_${k.out}`]));
  const offsetOf = new Map(prog.buffers.map((b) => [b.name, b.offset]));
  for (const [input, copy] of prog.inputCopies) offsetOf.set(input, offsetOf.get(copy)!);
  const addr = (b: string): number => {
    const at = offsetOf.get(b);
    if (at === undefined) throw new Error(`internal: the WebAssembly kernels read ${b}, which is not in the arena`);
    return at;
  };
  const funcs = simd.map((k) => simdFunc(names.get(k)!, k.simd!.plan, addr, addr(k.out)));
  return { names, ...wasmModule(funcs, Math.max(1, Math.ceil(arenaBytes / 65536))) };
}

