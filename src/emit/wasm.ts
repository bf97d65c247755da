/**
 * The WebAssembly SIMD kernels of a program, addressed in its arena: bytes for the module and WAT
 * text for its closing comment. Kernels whose functions would differ only in their operands'
 * addresses (the steps of an unrolled recurrence) share one function that takes the addresses as
 * i32 arguments; a function that fewer kernels call keeps its addresses as literals (the
 * threshold of src/emit/share.ts: three or more share, so an MLP's module is as it was).
 */
import type { Kernel, Program } from "../lower/program.js";
import { safe } from "./kernel.js";
import { simdFunc, simdPrefix } from "../wasm/plan.js";
import { simdMatmulFunc, type SimdMatmul } from "../wasm/matmul.js";
import { simdMapFunc } from "../wasm/map.js";
import { wasmModule } from "../wasm/module.js";
import { MIN_TEXTS } from "./share.js";

/** How a kernel calls its function: its name and its arguments (its operands' byte addresses, as `view.byteOffset + bytes`; none when the function is its own). */
export interface WasmCall {
  name: string;
  args: string[];
}

/** The WebAssembly SIMD kernels of a program: one function per distinct matmul, and per convolution, with a SIMD plan, addressing the arena; undefined when there are none. */
export function wasmKernelsOf(prog: Program, arenaBytes: number): { calls: Map<Kernel, WasmCall>; funcs: { name: string; arity: number; of: Kernel[] }[]; bytes: Uint8Array; wat: string } | undefined {
  const simd = [...new Set([...prog.forward, ...prog.train, ...prog.evalLoss].filter((k) => k.simd))];
  if (!simd.length) return undefined;
  const offsetOf = new Map(prog.buffers.map((b) => [b.name, b.offset]));
  for (const [input, copy] of prog.inputCopies) offsetOf.set(input, offsetOf.get(copy)!);
  const addr = (b: string): number => {
    const at = offsetOf.get(b);
    if (at === undefined) throw new Error(`internal: the WebAssembly kernels read ${b}, which is not in the arena`);
    return at;
  };
  // an operand's address as the generated code says it: the view's (an input's arena copy's) byteOffset, plus the view's offset
  const address = (v: { base: string; offset: number }) => `${prog.inputCopies.get(v.base) ?? v.base}.byteOffset${v.offset ? ` + ${v.offset * 4}` : ""}`;
  // the same function text with the addresses as parameters: kernels whose texts are equal share it
  const groups = new Map<string, Kernel[]>();
  for (const k of simd) {
    // a convolution, attention or a pooling keeps a function of its own (addresses as literals); matmuls and maps group by their text with the addresses as parameters
    const p = k.simd!.plan;
    const wat = p.kind === "matmul" ? simdMatmulFunc("f", p, addr, addr(k.out), true).wat() : p.kind === "map" ? simdMapFunc("f", p, addr, addr(k.out), true).wat() : `${p.kind} ${k.out}`;
    groups.set(wat, [...(groups.get(wat) ?? []), k]);
  }
  const calls = new Map<Kernel, WasmCall>();
  // in the order of the kernels (below the threshold, each kernel has a function of its own, with its addresses as literals)
  const units = [...groups.values()].flatMap((ks) => (ks.length >= MIN_TEXTS ? [ks] : ks.map((k) => [k])));
  const funcs = units.sort((a, b) => simd.indexOf(a[0]!) - simd.indexOf(b[0]!)).map((ks) => {
    const first = ks[0]!;
    const name = `${simdPrefix(first.simd!.plan)}_${first.out}`;
    const shared = ks.length > 1;
    for (const k of ks) {
      const p = k.simd!.plan;
      // a shared map takes the output's address, then its leaves'
      const operands = p.kind === "map" ? [{ base: k.out, offset: 0 }, ...p.epilogue.leaves] : [(p as SimdMatmul).a, (p as SimdMatmul).b, { base: k.out, offset: 0 }, ...((p as SimdMatmul).epilogue?.leaves ?? [])];
      const args = shared ? operands.map(address) : [];
      calls.set(k, { name, args });
    }
    const plan = first.simd!.plan;
    const func =
      shared && plan.kind === "matmul" ? simdMatmulFunc(name, plan, addr, addr(first.out), true) : shared && plan.kind === "map" ? simdMapFunc(name, plan, addr, addr(first.out), true) : simdFunc(name, plan, addr, addr(first.out));
    return { name, arity: func.arity, of: ks, func };
  });
  return { calls, funcs: funcs.map(({ name, arity, of }) => ({ name, arity, of })), ...wasmModule(funcs.map((f) => f.func), Math.max(1, Math.ceil(arenaBytes / 65536))) };
}

/** The `Kernels` interface's methods: one per function, its parameters the addresses a shared one takes, its doc the (first) kernel's math. */
export function kernelMethods(funcs: readonly { name: string; arity: number; of: Kernel[] }[]) {
  const params = (n: number) => ["a", "b", "c", ...Array.from({ length: n - 3 }, (_, i) => `l${i}`)].slice(0, n).map((name) => ({ name, type: "number" }));
  const more = (f: { of: Kernel[] }) => (f.of.length > 1 ? ` (and ${f.of.length - 1} more: the operands' byte addresses are the arguments)` : "");
  return funcs.map((f) => ({ name: f.name, parameters: f.arity ? params(f.arity) : [], returnType: "void", docs: [safe(f.of[0]!.comment.split(";  ")[0]!) + more(f)] }));
}
