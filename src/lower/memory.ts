/**
 * Stage 5, the memory plan: one arena for every buffer of the module. Buffers that live across
 * calls (params, gradients, optimizer state, constants, input copies) come first, in that
 * order; temporaries share the rest by lifetime, each placed in the best-fitting freed block,
 * else at the end. Lifetimes are taken over the entry points' kernels one after another (a
 * kernel two entry points share appears in both): a temporary lives from its first writer to its
 * last reader in that sequence, which holds every range it is live in within any one entry point.
 */
import type { Buffer, Kernel } from "./program.js";

const PERSISTENT = ["param", "grad", "optimizer", "constant", "input"] as const;

/** An entry point's kernels in order, and the buffers it returns (they live to its end). */
export interface EntryKernels {
  kernels: Kernel[];
  returns: string[];
}

/** Sets every used buffer's offset; returns the arena size in elements. */
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
  let end = 0;
  for (const e of entries) {
    end += e.kernels.length;
    for (const nm of e.returns) if (first.has(nm)) last.set(nm, Math.max(last.get(nm)!, end - 1));
  }

  end = 0;
  for (const role of PERSISTENT)
    for (const b of buffers)
      if (b.role === role) {
        b.offset = end;
        end += b.size;
      }
  const temps = buffers.filter((b) => b.role === "temp" && first.has(b.name)).sort((a, b) => first.get(a.name)! - first.get(b.name)! || a.name.localeCompare(b.name));
  const free: { offset: number; size: number }[] = [];
  const live: Buffer[] = [];
  for (let t = 0; t < seq.length; t++) {
    for (const b of temps.filter((b) => first.get(b.name) === t)) {
      let best = -1;
      free.forEach((f, i) => {
        if (f.size >= b.size && (best < 0 || f.size < free[best]!.size)) best = i;
      });
      if (best >= 0) {
        const f = free[best]!;
        b.offset = f.offset;
        if (f.size === b.size) free.splice(best, 1);
        else free[best] = { offset: f.offset + b.size, size: f.size - b.size };
      } else {
        b.offset = end;
        end += b.size;
      }
      live.push(b);
    }
    for (let i = live.length - 1; i >= 0; i--) {
      const b = live[i]!;
      if (last.get(b.name)! > t) continue;
      live.splice(i, 1);
      release(free, b);
    }
  }
  return Math.max(end, 1);
}

/** Return a buffer's block to the free list, merged with the blocks it touches. */
function release(free: { offset: number; size: number }[], b: Buffer): void {
  free.push({ offset: b.offset, size: b.size });
  free.sort((x, y) => x.offset - y.offset);
  for (let j = free.length - 2; j >= 0; j--)
    if (free[j]!.offset + free[j]!.size === free[j + 1]!.offset) {
      free[j] = { offset: free[j]!.offset, size: free[j]!.size + free[j + 1]!.size };
      free.splice(j + 1, 1);
    }
}
