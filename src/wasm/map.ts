/**
 * A fused elementwise kernel as WebAssembly SIMD (f32x4), for float32 models: `out = f(leaves…)`
 * where every op of f is written in lanes (src/ops: `lanes`). The loop is the JavaScript one's
 * (src/lower/loops.ts, axes merged where every operand walks them as one); along its last axis, a
 * contiguous run of the output, each leaf is contiguous too (stride 1: one v128.load per four
 * elements) or broadcast (stride 0: one splat). The run goes four lanes at a time, and its last
 * run mod 4 elements one at a time through the same lane code (a splat in, lane 0 out), so that
 * the function never reads or writes past a run. The outer axes are counted loops whose pointers
 * step by each operand's strides.
 * Unlike the JavaScript loops (which compute a chain in float64 and round once, at the store), these
 * round every op to float32, and eˣ and erf are float32 approximations (src/wasm/vmath.ts).
 */
import { rowMajorStrides } from "../ir/shape.js";
import type { View } from "../lower/view.js";
import type { Lanes } from "../ops/types.js";
import { vector, type LaneEpilogue } from "./matmul.js";
import { Func, i32, lane, mem, type Ins } from "./module.js";
import { Temps, V, verf, vexp } from "./vmath.js";

export interface SimdMap {
  kind: "map";
  /** The loop's extents, axes merged; the last one is a contiguous run of the output. */
  extents: number[];
  /** The expression: a map is all epilogue, with no product (`acc` unused); its leaves are views over `extents`, stride 1 or 0 along the last axis. */
  epilogue: LaneEpilogue;
}

/**
 * Fewer elements than this, or runs shorter than a vector, stay in JavaScript: there the loop takes
 * well under a microsecond, and the call (and the copy of an input into the arena that a map may
 * need) costs about what the lanes save.
 */
export const MIN_SIZE = 256;
/**
 * More leaves than this stay in JavaScript too: such a kernel is a long sum (a gradient gathered from
 * every step of an unrolled recurrence), bound by memory, and its function would grow with the steps.
 */
export const MAX_LEAVES = 8;

/** The plan for an elementwise kernel over `extents` (axes merged) whose leaves walk it with `strides`; undefined when it does not suit four lanes. */
export function planMap(extents: readonly number[], strides: readonly (readonly number[])[], e: LaneEpilogue): SimdMap | undefined {
  const size = extents.reduce((a, b) => a * b, 1);
  const run = extents[extents.length - 1] ?? 1;
  if (size < MIN_SIZE || run < 4 || e.leaves.length > MAX_LEAVES) return undefined;
  const last = extents.length - 1;
  if (!strides.every((s) => s[last] === 0 || s[last] === 1)) return undefined;
  const leaves = e.leaves.map((v, l): View => ({ ...v, shape: [...extents], strides: [...strides[l]!] }));
  return { kind: "map", extents: [...extents], epilogue: { leaves, build: (L, acc, leaf) => e.build(L, acc, leaf) } };
}

export const mapReads = (p: SimdMap): string[] => p.epilogue.leaves.map((v) => v.base);

export const mapHow = (p: SimdMap): string => `f32x4 along runs of ${p.extents[p.extents.length - 1]}${p.extents[p.extents.length - 1]! % 4 ? ", the last elements of each one lane at a time" : ""}`;

/** f32x4 arithmetic with eˣ, erf, max, min, |x| and √x; each eˣ and erf computed once, into a local. */
export function mapLanes(f: Func): Lanes<Ins> {
  const t = new Temps(f);
  return { ...vector, exp: (x) => t.bind(vexp(t, x)), erf: (x) => t.bind(verf(t, x)), max: V.max, min: V.min, abs: V.abs, sqrt: V.sqrt };
}

/**
 * The kernel as a function named `name`; `addr(base)` is a buffer's arena byte offset, `out` the output's.
 * With `params`, the operands' byte addresses are its parameters, the output's then the leaves' (src/emit/wasm.ts passes them).
 */
export function simdMapFunc(name: string, p: SimdMap, addr: (base: string) => number, out: number, params = false): Func {
  const f = new Func(name);
  const E = p.extents;
  const axes = E.length - 1;
  const run = E[axes]!;
  const operands = [
    { name: "c", at: params ? 0 : out, strides: rowMajorStrides(E), param: params ? f.param("c") : undefined, what: "the output" },
    ...p.epilogue.leaves.map((v, l) => ({ name: `l${l}`, at: params ? 0 : addr(v.base) + v.offset * 4, strides: v.strides, param: params ? f.param(`l${l}`) : undefined, what: params ? `leaf ${l}` : v.base })),
  ];
  // one pointer per walk: operands at literal addresses that step alike share it (a shared function's start at their parameters)
  const walks = new Map<string, typeof operands>();
  for (const o of operands) {
    const key = o.param ?? o.strides.join("×");
    walks.set(key, [...(walks.get(key) ?? []), o]);
  }
  const ptrs = [...walks.values()].map((os) => ({ name: os[0]!.name, strides: os[0]!.strides, param: os[0]!.param, of: os }));
  const ptrOf = new Map(ptrs.flatMap((w) => w.of.map((o) => [o, w.name] as const)));
  f.comment(`[${E.join("×")}] elementwise: f32x4 along runs of ${run}${run % 4 ? `, the last ${run % 4} of each one lane at a time` : ""}`);
  for (const w of ptrs) {
    const names = w.of.map((o) => `${o.what} ${o.param ? `at $${o.param}` : `at byte ${o.at}`}`);
    const lines: string[] = [];
    for (const nm of names) if (lines.length && lines[lines.length - 1]!.length + nm.length < 90) lines[lines.length - 1] += `, ${nm}`; else lines.push(nm);
    lines[lines.length - 1] += ` (strides ${w.strides.join("×")})`;
    lines.forEach((l) => f.comment(l));
  }
  // per walk: r<name> points at the current run's first element, p<name> walks the run
  for (const w of ptrs) {
    f.local(`r${w.name}`, "i32");
    f.local(`p${w.name}`, "i32");
    f.set(`r${w.name}`, w.param ? f.get(w.param) : i32(0));
  }
  const along = (o: { strides: readonly number[] }) => o.strides[axes]!;
  const at = (o: (typeof operands)[number]) => f.get(`p${ptrOf.get(o)!}`);
  const value = (load: (o: (typeof operands)[number]) => Ins) => {
    const L = mapLanes(f);
    return p.epilogue.build(L, L.num(0), (l) => load(operands[l + 1]!));
  };
  const body = () => {
    for (const w of ptrs) f.from(`p${w.name}`, `r${w.name}`, 0);
    const [c] = operands;
    f.repeat("cv", Math.floor(run / 4), () => {
      const v = value((o) => (along(o) ? mem("v128.load", o.at, at(o)) : mem("v128.load32_splat", o.at, at(o))));
      f.emit(mem("v128.store", c!.at, at(c!), v));
      for (const w of ptrs) f.advance(`p${w.name}`, along(w) * 16);
    });
    f.repeat("ct", run % 4, () => {
      const v = value((o) => mem("v128.load32_splat", o.at, at(o)));
      f.emit(mem("f32.store", c!.at, at(c!), lane(0, v)));
      for (const w of ptrs) f.advance(`p${w.name}`, along(w) * 4);
    });
  };
  // the outer axes: each run pointer steps by its stride, less what the inner axis's loop moved it
  // (E[d+1] of its strides), so that no loop rewinds
  const nest = (d: number): void => {
    if (d === axes) return body();
    f.repeat(`c${d}`, E[d]!, () => {
      nest(d + 1);
      for (const w of ptrs) f.advance(`r${w.name}`, (w.strides[d]! - (d + 1 < axes ? E[d + 1]! * w.strides[d + 1]! : 0)) * 4);
    });
  };
  nest(0);
  return f;
}
