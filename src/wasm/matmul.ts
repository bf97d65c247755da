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
 * takes no arguments; or, for a function that several kernels share (the steps of an unrolled
 * recurrence: same shapes, other buffers), the pointers start at the operands' byte addresses,
 * i32 parameters $a $b $c $l0…. Rows and columns that do not fill a block get smaller blocks.
 * Unlike the JavaScript loops (which sum in float64 and round once), these sum in float32, as
 * XNNPACK and float32 BLAS do.
 */
import type { View } from "../lower/view.js";
import type { Lanes } from "../ops/types.js";
import { f32const, f32x4const, f32zero, Func, i32, lane, mem, op, v128zero, type Ins } from "./module.js";

export interface SimdMatmul {
  mode: "along-j" | "along-k";
  /** A as [m, k] and B as [k, n] (1-D operands promoted); C is contiguous [m, n]. */
  a: View;
  b: View;
  m: number;
  k: number;
  n: number;
  /** The rest of the output's equation, applied as each block of C is stored (bias, activation, mask). */
  epilogue?: LaneEpilogue;
}

/** An elementwise epilogue in lanes: the stored value from the product and the values of `leaves`. */
export interface LaneEpilogue {
  /** What the epilogue reads, each as a view shaped [m, n] (stride 0 where it broadcasts). */
  leaves: View[];
  build<V>(L: Lanes<V>, acc: V, leaf: (index: number) => V): V;
}

/** Elementwise arithmetic in four lanes, with JavaScript's semantics of `a > b ? x : y`. */
const vector: Lanes<Ins> = {
  add: (a, b) => op("f32x4.add", a, b),
  sub: (a, b) => op("f32x4.sub", a, b),
  mul: (a, b) => op("f32x4.mul", a, b),
  div: (a, b) => op("f32x4.div", a, b),
  neg: (a) => op("f32x4.neg", a),
  num: (c) => f32x4const(c),
  ifGreater: (a, b, x, y) => op("v128.bitselect", x, y, op("f32x4.gt", a, b)),
};

/** The same in one lane. */
const scalar: Lanes<Ins> = {
  add: (a, b) => op("f32.add", a, b),
  sub: (a, b) => op("f32.sub", a, b),
  mul: (a, b) => op("f32.mul", a, b),
  div: (a, b) => op("f32.div", a, b),
  neg: (a) => op("f32.neg", a),
  num: (c) => f32const(c),
  ifGreater: (a, b, x, y) => op("select", x, y, op("f32.gt", a, b)),
};

/** The buffers the kernel reads: A, B and the epilogue's leaves (all must live in the arena). */
export const bufferReads = (p: SimdMatmul): string[] => [p.a.base, p.b.base, ...(p.epilogue?.leaves.map((v) => v.base) ?? [])];

/** Whether the kernel can apply an epilogue reading `leaves`: along the columns, each leaf is contiguous or broadcast there. */
export function epilogueFits(p: SimdMatmul, leaves: readonly View[]): boolean {
  return p.mode === "along-k" || leaves.every((v) => v.strides[1] === 0 || v.strides[1] === 1);
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

/**
 * The kernel as a function named `name`; `addr(base)` is the arena byte offset of a buffer, `c` that of C.
 * With `params`, the operands' byte addresses are its parameters: a, b, c, then the epilogue's leaves (src/emit/wasm.ts passes them).
 */
export function simdMatmulFunc(name: string, p: SimdMatmul, addr: (base: string) => number, c: number, params = false): Func {
  const f = new Func(name);
  const { m, k, n } = p;
  const [sAi, sAk] = p.a.strides as [number, number];
  const [sBk, sBj] = p.b.strides as [number, number];
  const [pA, pB, pC] = params ? [f.param("a"), f.param("b"), f.param("c")] : [];
  const A = params ? 0 : addr(p.a.base) + p.a.offset * 4;
  const B = params ? 0 : addr(p.b.base) + p.b.offset * 4;
  const C = params ? 0 : c;
  const epi = p.epilogue;
  const leafParams = (epi?.leaves ?? []).map((_, l) => (params ? f.param(`l${l}`) : undefined));
  for (const l of ["pa", "pc", "pb", "pcj", "qa", "qb"]) f.local(l, "i32");
  // each leaf of the epilogue gets pointers like pc and pcj: its row block and its column block
  const leaves = (epi?.leaves ?? []).map((v, l) => ({
    param: leafParams[l],
    at: params ? 0 : addr(v.base) + v.offset * 4,
    si: v.strides[0]!,
    sj: v.strides[1]!,
    row: f.local(`pr${l}`, "i32"),
    col: f.local(`pl${l}`, "i32"),
    base: v.base,
  }));
  /** The value stored for product `acc` (lanes L), with leaf l read by `load(l)`. */
  const store = (L: Lanes<Ins>, acc: Ins, load: (l: (typeof leaves)[number]) => Ins) => (epi ? epi.build(L, acc, (i) => load(leaves[i]!)) : acc);
  const leafColumns = (col: number) => leaves.forEach((l) => f.from(l.col, l.row, col * l.sj * 4));
  const advanceLeafColumns = (cols: number) => leaves.forEach((l) => f.advance(l.col, cols * l.sj * 4));
  f.comment(`C[${m}×${n}] = A·B, k = ${k}: ${p.mode === "along-j" ? "f32x4 along the columns of C" : "f32x4 along k"}`);
  const byte = (at: number, param: string | undefined) => (param ? `$${param}` : `byte ${at}`);
  if (params) f.comment(`A at $${pA}, row stride ${sAi}, k stride ${sAk}; B at $${pB}, k stride ${sBk}, column stride ${sBj}; C at $${pC}`);
  else f.comment(`A: ${p.a.base} at byte ${A}, row stride ${sAi}, k stride ${sAk}; B: ${p.b.base} at byte ${B}, k stride ${sBk}, column stride ${sBj}; C at byte ${C}`);
  for (const [i, l] of leaves.entries()) f.comment(`epilogue leaf ${i}: ${params ? "" : `${l.base} `}at ${byte(l.at, l.param)}, row stride ${l.si}, column stride ${l.sj}`);
  const get = (nm: string) => f.get(nm);
  /** A pointer's first value: `delta` bytes past its operand's parameter (shared functions), or `delta` (the operand's address is in the loads' offsets). */
  const first = (param: string | undefined, delta: number) => (param === undefined ? i32(delta) : delta ? op("i32.add", get(param), i32(delta)) : get(param));
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
      f.set("pa", first(pA, start * sAi * 4)).set("pc", first(pC, start * n * 4));
      for (const l of leaves) f.set(l.row, first(l.param, start * l.si * 4));
      f.repeat("ci", count, () => {
        body(R);
        f.advance("pa", R * sAi * 4).advance("pc", R * n * 4);
        for (const l of leaves) f.advance(l.row, R * l.si * 4);
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
        f.set("pb", first(pB, col * 4)).from("pcj", "pc", col * 4);
        leafColumns(col);
        f.repeat("cj", count, () => {
          for (let r = 0; r < R; r++) for (let v = 0; v < V; v++) f.set(acc(r, v), v128zero());
          f.from("qa", "pa", 0).from("qb", "pb", 0);
          f.repeat("cp", k, () => {
            for (let r = 0; r < R; r++) f.set(f.local(`a${r}`, "v128"), mem("v128.load32_splat", A + r * sAi * 4, get("qa")));
            for (let v = 0; v < V; v++) f.set(f.local(`b${v}`, "v128"), mem("v128.load", B + v * 16, get("qb")));
            for (let r = 0; r < R; r++) for (let v = 0; v < V; v++) mulAdd(acc(r, v), `a${r}`, `b${v}`);
            f.advance("qa", sAk * 4).advance("qb", sBk * 4);
          });
          for (let r = 0; r < R; r++)
            for (let v = 0; v < V; v++) {
              const value = store(vector, get(acc(r, v)), (l) =>
                l.sj ? mem("v128.load", l.at + (r * l.si + v * 4) * 4, get(l.col)) : mem("v128.load32_splat", l.at + r * l.si * 4, get(l.col)),
              );
              f.emit(mem("v128.store", C + (r * n + v * 4) * 4, get("pcj"), value));
            }
          f.advance("pb", V * 16).advance("pcj", V * 16);
          advanceLeafColumns(4 * V);
        });
      }
      if (tail) {
        const col = n - tail;
        f.comment(`columns ${col}…${n - 1}, one lane each`);
        const s = (r: number, t: number) => f.local(`s${r}${t}`, "f32");
        for (let r = 0; r < R; r++) for (let t = 0; t < tail; t++) f.set(s(r, t), f32zero());
        f.from("qa", "pa", 0).set("qb", first(pB, col * 4));
        f.repeat("cp", k, () => {
          for (let r = 0; r < R; r++) f.set(f.local(`x${r}`, "f32"), mem("f32.load", A + r * sAi * 4, get("qa")));
          for (let t = 0; t < tail; t++) f.set(f.local(`y${t}`, "f32"), mem("f32.load", B + t * 4, get("qb")));
          for (let r = 0; r < R; r++) for (let t = 0; t < tail; t++) f.set(s(r, t), op("f32.add", get(s(r, t)), op("f32.mul", get(`x${r}`), get(`y${t}`))));
          f.advance("qa", sAk * 4).advance("qb", sBk * 4);
        });
        for (let r = 0; r < R; r++)
          for (let t = 0; t < tail; t++) {
            const value = store(scalar, get(s(r, t)), (l) => mem("f32.load", l.at + (r * l.si + (col + t) * l.sj) * 4, get(l.row)));
            f.emit(mem("f32.store", C + (r * n + col + t) * 4, get("pc"), value));
          }
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
        f.set("pb", first(pB, col * sBj * 4)).from("pcj", "pc", col * 4);
        leafColumns(col);
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
              // an epilogue may use the product more than once (relu): summed once, into a local
              if (epi) f.set(f.local("dot", "f32"), sum);
              const value = store(scalar, epi ? get("dot") : sum, (l) => mem("f32.load", l.at + (r * l.si + j * l.sj) * 4, get(l.col)));
              f.emit(mem("f32.store", C + (r * n + j) * 4, get("pcj"), value));
            }
          f.advance("pb", J * sBj * 4).advance("pcj", J * 4);
          advanceLeafColumns(J);
        });
      }
    });
  }
  return f;
}
