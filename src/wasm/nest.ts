/**
 * Loop helpers over a WebAssembly function (src/wasm/module.ts) that the SIMD kernels share: counted
 * loops over pointer locals (the conv, attention and pooling kernels walk their tensors with them),
 * and a zero fill.
 */
import { f32zero, i32, mem, v128zero, type Func, type Ins } from "./module.js";

/**
 * Counted loops over pointer locals: `level` runs its body `count` times, each pointer starting
 * from its enclosing value plus `start` bytes and stepping by `step` bytes per iteration.
 */
export class Nest {
  cur: Record<string, string>;
  constructor(
    private readonly f: Func,
    ptrs: string[],
  ) {
    this.cur = Object.fromEntries(ptrs.map((p) => [p, f.local(`${p}0`, "i32")]));
    for (const p of ptrs) f.set(`${p}0`, i32(0));
  }
  /** `unroll`: the body written `count` times, the pointers advanced between (no loop, no branch). */
  level(counter: string, count: number, step: Record<string, number>, body: () => void, start: Record<string, number> = {}, unroll = false): void {
    if (count < 1) return;
    const saved = { ...this.cur };
    const moved = Object.keys(this.cur).filter((p) => (count > 1 && step[p]) || start[p]);
    for (const p of moved) {
      const nm = this.f.local(`${p}_${counter}`, "i32");
      this.f.from(nm, this.cur[p]!, start[p] ?? 0);
      this.cur[p] = nm;
    }
    const advance = () => {
      if (count > 1) for (const p of moved) this.f.advance(this.cur[p]!, step[p] ?? 0);
    };
    if (unroll)
      for (let i = 0; i < count; i++) {
        body();
        if (i < count - 1) advance();
      }
    else
      this.f.repeat(counter, count, () => {
        body();
        advance();
      });
    this.cur = saved;
  }
  get(p: string): Ins {
    return this.f.get(this.cur[p]!);
  }
}

/** `size` float32 zeros from byte `out`: vectors, then one vector ending at the last element (or single floats when fewer than 4). */
export function zeroFill(f: Func, out: number, size: number): void {
  if (size < 4) {
    for (let t = 0; t < size; t++) f.emit(mem("f32.store", out + t * 4, i32(0), f32zero()));
    return;
  }
  const zero = new Nest(f, ["d"]);
  zero.level("cz", Math.floor(size / 4), { d: 16 }, () => f.emit(mem("v128.store", out, zero.get("d"), v128zero())));
  if (size % 4) f.emit(mem("v128.store", out + (size - 4) * 4, i32(0), v128zero()));
}
