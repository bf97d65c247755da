/**
 * The matmul kernel as WebAssembly SIMD (f32x4), for float32 models. Same blocking idea as the
 * JavaScript kernel (src/lower/matmulKernel.ts), four lanes wide:
 *   along j  when B's rows are contiguous (A·B and Aᵀ·B: the dX and dW products of backward):
 *            4 rows × 8 columns of C in eight f32x4 accumulators; each step of k splats four
 *            elements of A and loads two vectors of B;
 *   along k  when rows of A and columns of B are both contiguous (A·Bᵀ: the forward x·Wᵀ):
 *            4 rows × 2 columns of C, each an f32x4 of partial sums over k, summed across lanes
 *            at the end; the k mod 4 tail is added in scalar f32.
 * Every address is a pointer local plus the operand's arena offset as a literal, so the function
 * takes no arguments. Rows and columns that do not fill a block get smaller blocks.
 * Unlike the JavaScript loops (which sum in float64 and round once), these sum in float32, as
 * XNNPACK and float32 BLAS do.
 */
import type { View } from "../lower/view.js";
import { f32zero, Func, i32, lane, mem, op, v128zero } from "./module.js";

export interface SimdMatmul {
  mode: "along-j" | "along-k";
  /** A as [m, k] and B as [k, n] (1-D operands promoted); C is contiguous [m, n]. */
  a: View;
  b: View;
  m: number;
  k: number;
  n: number;
}

const ROWS = 4;

/** The SIMD plan for C = A·B, or undefined when neither operand layout suits four lanes. */
export function planSimd(a: View, b: View, m: number, k: number, n: number): SimdMatmul | undefined {
  const [, sAk] = a.strides as [number, number];
  const [sBk, sBj] = b.strides as [number, number];
  const alongJ = sBj === 1 && n >= 4;
  const alongK = sAk === 1 && sBk === 1 && k >= 4;
  if (alongJ && (n >= 8 || !alongK)) return { mode: "along-j", a, b, m, k, n };
  if (alongK) return { mode: "along-k", a, b, m, k, n };
  return undefined;
}

/** The kernel as a function named `name`; `addr(base)` is the arena element offset of a buffer, `c` that of C. */
export function simdMatmulFunc(name: string, p: SimdMatmul, addr: (base: string) => number, c: number): Func {
  const f = new Func(name);
  const { m, k, n } = p;
  const [sAi, sAk] = p.a.strides as [number, number];
  const [sBk, sBj] = p.b.strides as [number, number];
  const A = (addr(p.a.base) + p.a.offset) * 4;
  const B = (addr(p.b.base) + p.b.offset) * 4;
  const C = c * 4;
  for (const l of ["pa", "pc", "pb", "pcj", "qa", "qb"]) f.local(l, "i32");
  f.comment(`C[${m}×${n}] = A·B, k = ${k}: ${p.mode === "along-j" ? "f32x4 along the columns of C" : "f32x4 along k"}`);
  f.comment(`A: ${p.a.base} at byte ${A}, row stride ${sAi}, k stride ${sAk}; B: ${p.b.base} at byte ${B}, k stride ${sBk}, column stride ${sBj}; C at byte ${C}`);
  const get = (nm: string) => f.get(nm);
  const acc = (r: number, j: number) => f.local(`acc${r}${j}`, "v128");
  /** acc += a ⊙ b, four lanes */
  const mulAdd = (s: string, a: string, b: string) => f.set(s, op("f32x4.add", get(s), op("f32x4.mul", get(a), get(b))));

  // rows: blocks of four, then one block of the rest; pa and pc point at the block's first row of A and C
  const rows = (body: (R: number) => void) => {
    const full = Math.floor(m / ROWS);
    const parts: [number, number, number][] = [[0, ROWS, full], [full * ROWS, m % ROWS, 1]];
    for (const [start, R, count] of parts) {
      if (!R || !count) continue;
      f.comment(`rows ${start}…${start + R * count - 1}, ${R} at a time`);
      f.set("pa", i32(start * sAi * 4)).set("pc", i32(start * n * 4));
      f.repeat("ci", count, () => {
        body(R);
        f.advance("pa", R * sAi * 4).advance("pc", R * n * 4);
      });
    }
  };

  if (p.mode === "along-j") {
    rows((R) => {
      const tail = n % 4;
      // vector blocks: 8 columns (two vectors), then 4 (one)
      const blocks: [number, number, number][] = [[0, 2, Math.floor(n / 8)], [n - (n % 8), 1, n % 8 >= 4 ? 1 : 0]];
      for (const [col, V, count] of blocks) {
        if (!count) continue;
        f.comment(`columns ${col}…${col + 4 * V * count - 1}, ${4 * V} at a time`);
        f.set("pb", i32(col * 4)).from("pcj", "pc", col * 4);
        f.repeat("cj", count, () => {
          for (let r = 0; r < R; r++) for (let v = 0; v < V; v++) f.set(acc(r, v), v128zero());
          f.from("qa", "pa", 0).from("qb", "pb", 0);
          f.repeat("cp", k, () => {
            for (let r = 0; r < R; r++) f.set(f.local(`a${r}`, "v128"), mem("v128.load32_splat", A + r * sAi * 4, get("qa")));
            for (let v = 0; v < V; v++) f.set(f.local(`b${v}`, "v128"), mem("v128.load", B + v * 16, get("qb")));
            for (let r = 0; r < R; r++) for (let v = 0; v < V; v++) mulAdd(acc(r, v), `a${r}`, `b${v}`);
            f.advance("qa", sAk * 4).advance("qb", sBk * 4);
          });
          for (let r = 0; r < R; r++) for (let v = 0; v < V; v++) f.emit(mem("v128.store", C + (r * n + v * 4) * 4, get("pcj"), get(acc(r, v))));
          f.advance("pb", V * 16).advance("pcj", V * 16);
        });
      }
      if (tail) {
        const col = n - tail;
        f.comment(`columns ${col}…${n - 1}, one lane each`);
        const s = (r: number, t: number) => f.local(`s${r}${t}`, "f32");
        for (let r = 0; r < R; r++) for (let t = 0; t < tail; t++) f.set(s(r, t), f32zero());
        f.from("qa", "pa", 0).set("qb", i32(col * 4));
        f.repeat("cp", k, () => {
          for (let r = 0; r < R; r++) f.set(f.local(`x${r}`, "f32"), mem("f32.load", A + r * sAi * 4, get("qa")));
          for (let t = 0; t < tail; t++) f.set(f.local(`y${t}`, "f32"), mem("f32.load", B + t * 4, get("qb")));
          for (let r = 0; r < R; r++) for (let t = 0; t < tail; t++) f.set(s(r, t), op("f32.add", get(s(r, t)), op("f32.mul", get(`x${r}`), get(`y${t}`))));
          f.advance("qa", sAk * 4).advance("qb", sBk * 4);
        });
        for (let r = 0; r < R; r++) for (let t = 0; t < tail; t++) f.emit(mem("f32.store", C + (r * n + col + t) * 4, get("pc"), get(s(r, t))));
      }
    });
  } else {
    rows((R) => {
      const kv = Math.floor(k / 4);
      const tail = k % 4;
      const blocks: [number, number, number][] = [[0, 2, Math.floor(n / 2)], [n - (n % 2), 1, n % 2]];
      for (const [col, J, count] of blocks) {
        if (!count) continue;
        f.comment(`columns ${col}…${col + J * count - 1}, ${J} at a time`);
        f.set("pb", i32(col * sBj * 4)).from("pcj", "pc", col * 4);
        f.repeat("cj", count, () => {
          for (let r = 0; r < R; r++) for (let j = 0; j < J; j++) f.set(acc(r, j), v128zero());
          f.from("qa", "pa", 0).from("qb", "pb", 0);
          f.repeat("cp", kv, () => {
            for (let r = 0; r < R; r++) f.set(f.local(`a${r}`, "v128"), mem("v128.load", A + r * sAi * 4, get("qa")));
            for (let j = 0; j < J; j++) f.set(f.local(`b${j}`, "v128"), mem("v128.load", B + j * sBj * 4, get("qb")));
            for (let r = 0; r < R; r++) for (let j = 0; j < J; j++) mulAdd(acc(r, j), `a${r}`, `b${j}`);
            f.advance("qa", 16).advance("qb", 16);
          });
          // the four lanes summed, plus the last k mod 4 products (qa and qb point at element 4·⌊k/4⌋)
          for (let r = 0; r < R; r++)
            for (let j = 0; j < J; j++) {
              let sum = op("f32.add", op("f32.add", op("f32.add", lane(0, get(acc(r, j))), lane(1, get(acc(r, j)))), lane(2, get(acc(r, j)))), lane(3, get(acc(r, j))));
              for (let t = 0; t < tail; t++) sum = op("f32.add", sum, op("f32.mul", mem("f32.load", A + (r * sAi + t) * 4, get("qa")), mem("f32.load", B + (j * sBj + t) * 4, get("qb"))));
              f.emit(mem("f32.store", C + (r * n + j) * 4, get("pcj"), sum));
            }
          f.advance("pb", J * sBj * 4).advance("pcj", J * 4);
        });
      }
    });
  }
  return f;
}
