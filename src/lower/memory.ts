/**
 * Stage 5, the memory plan: one arena (one ArrayBuffer) for every buffer of the module, each
 * buffer at a 16-byte-aligned offset, so that a typed view per dtype reaches it (64-byte, a cache
 * line, for a buffer of a kilobyte or more).
 * Buffers that live across calls (params, gradients, optimizer state, buffers, constants, input copies)
 * come first, in that order; temporaries share the rest by lifetime, each placed in the
 * best-fitting freed block, else at the end. Lifetimes are taken over the entry points' kernels
 * one after another (a kernel two entry points share appears in both): a temporary lives from
 * its first writer to its last reader in that sequence, which holds every range it is live in
 * within any one entry point.
 */
import { BYTES } from "../ir/graph.js";
import type { Buffer, Kernel } from "./program.js";

const PERSISTENT = ["param", "grad", "optimizer", "buffer", "constant", "input"] as const;

/** An entry point's kernels in order, and the buffers it returns (they live to its end). */
export interface EntryKernels {
  kernels: Kernel[];
  returns: string[];
}

interface Block {
  offset: number;
  size: number;
}

const bytesOf = (b: Buffer) => b.size * BYTES[b.dtype];
/**
 * Every buffer starts on a 16-byte boundary: the typed view of its dtype reaches it, and the
 * WebAssembly kernels' v128 loads and stores of its rows start aligned (a buffer at an odd
 * float offset made every SIMD access straddle, measured at 6–13 % of a step).
 */
const ALIGN = 16;
/**
 * A buffer of a kilobyte or more starts on a 64-byte boundary, a cache line: then a SIMD block of 8 floats
 * of a row whose length is a multiple of 16 lies in one line, not across two (measured on W5's dW = dZᵀ·X
 * kernels: ~10 % faster than at 48 bytes past a line).
 */
const LINE = 64;
const alignOf = (b: Buffer) => (bytesOf(b) >= 1024 ? LINE : Math.max(BYTES[b.dtype], ALIGN));
const alignUp = (x: number, a: number) => Math.ceil(x / a) * a;

/** Sets every used buffer's byte offset; returns the arena size in bytes. */
export function planMemory(buffers: Buffer[], entries: EntryKernels[]): number {
  const seq = entries.flatMap((e) => e.kernels);
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  seq.forEach((k, t) => {
    if (!first.has(k.out)) first.set(k.out, t);
    last.set(k.out, Math.max(last.get(k.out) ?? t, t));
    for (const r of k.reads) last.set(r, Math.max(last.get(r) ?? t, t));
  });
  // what an entry point returns lives to the end of that entry point
  let t0 = 0;
  for (const e of entries) {
    t0 += e.kernels.length;
    for (const nm of e.returns) if (first.has(nm)) last.set(nm, Math.max(last.get(nm)!, t0 - 1));
  }

  let end = 0;
  for (const role of PERSISTENT)
    for (const b of buffers)
      if (b.role === role) {
        b.offset = alignUp(end, alignOf(b));
        end = b.offset + bytesOf(b);
      }
  const temps = buffers.filter((b) => b.role === "temp" && first.has(b.name)).sort((a, b) => first.get(a.name)! - first.get(b.name)! || a.name.localeCompare(b.name));
  const free: Block[] = [];
  const live: Buffer[] = [];
  for (let t = 0; t < seq.length; t++) {
    for (const b of temps.filter((b) => first.get(b.name) === t)) {
      const need = bytesOf(b);
      const align = alignOf(b);
      // the freed block that fits most tightly, once its start is aligned
      let best = -1;
      free.forEach((f, i) => {
        if (alignUp(f.offset, align) + need <= f.offset + f.size && (best < 0 || f.size < free[best]!.size)) best = i;
      });
      if (best >= 0) {
        const f = free.splice(best, 1)[0]!;
        b.offset = alignUp(f.offset, align);
        if (b.offset > f.offset) free.push({ offset: f.offset, size: b.offset - f.offset });
        if (b.offset + need < f.offset + f.size) free.push({ offset: b.offset + need, size: f.offset + f.size - b.offset - need });
        free.sort((x, y) => x.offset - y.offset);
      } else {
        b.offset = alignUp(end, align);
        end = b.offset + need;
      }
      live.push(b);
    }
    for (let i = live.length - 1; i >= 0; i--) {
      const b = live[i]!;
      if (last.get(b.name)! > t) continue;
      live.splice(i, 1);
      release(free, { offset: b.offset, size: bytesOf(b) });
    }
  }
  return Math.max(end, 1);
}

/**
 * Per temporary, the temporaries before it in `buffers` (the order the module declares them)
 * whose bytes overlap its own: the plan's sharing, which the module states where it declares them.
 */
export function sharedMemory(buffers: Buffer[]): Map<string, string[]> {
  const temps = buffers.filter((b) => b.role === "temp" && b.offset >= 0);
  const shared = new Map<string, string[]>();
  temps.forEach((b, i) => {
    const overlap = temps.slice(0, i).filter((a) => a.offset < b.offset + bytesOf(b) && b.offset < a.offset + bytesOf(a));
    if (overlap.length) shared.set(b.name, overlap.map((a) => a.name));
  });
  return shared;
}

/** Return a block to the free list, merged with the blocks it touches. */
function release(free: Block[], block: Block): void {
  free.push(block);
  free.sort((x, y) => x.offset - y.offset);
  for (let j = free.length - 2; j >= 0; j--)
    if (free[j]!.offset + free[j]!.size === free[j + 1]!.offset) {
      free[j] = { offset: free[j]!.offset, size: free[j]!.size + free[j + 1]!.size };
      free.splice(j + 1, 1);
    }
}
