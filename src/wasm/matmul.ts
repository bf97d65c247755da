/**
 * The matmul kernel as WebAssembly SIMD (f32x4), for float32 models. Same blocking idea as the
 * JavaScript kernel (src/lower/matmulKernel.ts), four lanes wide:
 *   along j  when B's rows are contiguous (A·B and Aᵀ·B: the dX and dW products of backward):
 *            4 rows × 8 columns of C in eight f32x4 accumulators; each step of k splats four
 *            elements of A and loads two vectors of B;
 *   along k  when rows of A and columns of B are both contiguous (A·Bᵀ: the forward x·Wᵀ):
 *            2 rows × 4 columns of C, each an f32x4 of partial sums over k; at the end a row's four
 *            columns are summed across lanes at once (a 4×4 transpose by shuffles folded into the
 *            adds) into one vector, stored with the epilogue in lanes; the last k mod 4 terms are
 *            one more vector ending at element k, its lanes already summed masked to 0.
 * Every address is a pointer local plus the operand's arena offset as a literal, so the function
 * takes no arguments; or, for a function that several kernels share (the steps of an unrolled
 * recurrence: same shapes, other buffers), the pointers start at the operands' byte addresses,
 * i32 parameters $a $b $c $l0…. Rows and columns that do not fill a block get smaller blocks.
 * Batched products ([..., m, k]·[..., k, n]) loop over the batch axes around the 2-D kernel, each
 * operand's pointer stepping by its batch stride (0 where it broadcasts); a batch axis along which B
 * is broadcast and A's and C's rows run on contiguously is folded into m instead (x[8,32,64]·Wᵀ is
 * one [256,64]·[64,n] product), and adjacent batch axes that step alike are merged.
 * Unlike the JavaScript loops (which sum in float64 and round once), these sum in float32, as
 * XNNPACK and float32 BLAS do.
 */
import type { View } from "../lower/view.js";
import type { Lanes } from "../ops/types.js";
import { batchLoop, stridesOf } from "./batchLoop.js";
import { f32const, f32x4const, f32zero, Func, i32, i32x4const, lane, mem, op, shuffle, v128zero, type Ins } from "./module.js";

export interface SimdMatmul {
  kind: "matmul";
  mode: "along-j" | "along-k";
  /** A as [...batch, m, k] and B as [...batch, k, n] (1-D operands promoted, stride 0 on the batch axes where one broadcasts); C is contiguous [...batch, m, n]. */
  a: View;
  b: View;
  /** The batch axes' extents (none for a 2-D product). */
  batch: number[];
  m: number;
  k: number;
  n: number;
  /** The rest of the output's equation, applied as each block of C is stored (bias, activation, mask). */
  epilogue?: LaneEpilogue;
}

/** An elementwise epilogue in lanes: the stored value from the product and the values of `leaves`. */
export interface LaneEpilogue {
  /** What the epilogue reads, each as a view shaped [...batch, m, n] (stride 0 where it broadcasts). */
  leaves: View[];
  build<V>(L: Lanes<V>, acc: V, leaf: (index: number) => V): V;
}

/** Elementwise arithmetic in four lanes, with JavaScript's semantics of `a > b ? x : y` (the conv kernels' epilogues use it too). */
export const vector: Lanes<Ins> = {
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
  return p.mode === "along-k" || leaves.every((v) => v.strides[v.strides.length - 1] === 0 || v.strides[v.strides.length - 1] === 1);
}

/** Rows per block: along j, and along k (where each row holds four columns' accumulators). */
const ROWS = 4;
const KROWS = 2;

/** The SIMD plan for C = A·B (views shaped [...batch, m, k] and [...batch, k, n]), or undefined when neither operand layout suits four lanes. */
export function planSimd(a: View, b: View, m: number, k: number, n: number): SimdMatmul | undefined {
  const [sAk] = a.strides.slice(-1) as [number];
  const [sBk, sBj] = b.strides.slice(-2) as [number, number];
  const batch = a.shape.slice(0, -2);
  const alongJ = sBj === 1 && n >= 4;
  const alongK = sAk === 1 && sBk === 1 && k >= 4;
  if (alongJ && (n >= 8 || !alongK)) return { kind: "matmul", mode: "along-j", a, b, batch, m, k, n };
  if (alongK) return { kind: "matmul", mode: "along-k", a, b, batch, m, k, n };
  return undefined;
}

/**
 * The kernel as a function named `name`; `addr(base)` is the arena byte offset of a buffer, `c` that of C.
 * With `params`, the operands' byte addresses are its parameters: a, b, c, then the epilogue's leaves (src/emit/wasm.ts passes them).
 */
export function simdMatmulFunc(name: string, p: SimdMatmul, addr: (base: string) => number, c: number, params = false): Func {
  const f = new Func(name);
  // parameters before any local: their indices are the arguments' positions
  const [pA, pB, pC] = params ? [f.param("a"), f.param("b"), f.param("c")] : [];
  const leafParams = (p.epilogue?.leaves ?? []).map((_, l) => (params ? f.param(`l${l}`) : undefined));
  const { k, n } = p;
  const axes = p.batch.length;
  const [sAi, sAk] = p.a.strides.slice(axes) as [number, number];
  const [sBk, sBj] = p.b.strides.slice(axes) as [number, number];
  const loop = batchLoop(p.batch, p.m, n, stridesOf(p.a, axes), stridesOf(p.b, axes), (p.epilogue?.leaves ?? []).map((v) => stridesOf(v, axes)));
  const m = loop.m;
  const A = params ? 0 : addr(p.a.base) + p.a.offset * 4;
  const B = params ? 0 : addr(p.b.base) + p.b.offset * 4;
  const C = params ? 0 : c;
  for (const l of ["pa", "pc", "pb", "pcj", "qa", "qb"]) f.local(l, "i32");
  const batched = loop.extents.length > 0;
  /** The parameter each batch pointer starts at (a shared function's), by the pointer's name. */
  const paramOf = new Map<string, string | undefined>([["ba", pA], ["bb", pB], ["bc", pC], ...leafParams.map((lp, l): [string, string | undefined] => [`bl${l}`, lp])]);
  /** `dst = base + delta`: base is the batch's pointer (ba, bb, bc, bl…); a 2-D product has none: its operand's parameter, or 0. */
  const from = (dst: string, base: string, delta: number) => {
    if (batched) return f.from(dst, base, delta);
    const param = paramOf.get(base);
    return f.set(dst, param === undefined ? i32(delta) : delta ? op("i32.add", f.get(param), i32(delta)) : f.get(param));
  };
  // each leaf of the epilogue gets pointers like pc and pcj: its row block and its column block
  const epi = p.epilogue;
  const leaves = (epi?.leaves ?? []).map((v, l) => ({
    param: leafParams[l],
    at: params ? 0 : addr(v.base) + v.offset * 4,
    si: v.strides[axes]!,
    sj: v.strides[axes + 1]!,
    row: f.local(`pr${l}`, "i32"),
    col: f.local(`pl${l}`, "i32"),
    batch: `bl${l}`,
    base: v.base,
  }));
  /** The value stored for product `acc` (lanes L), with leaf l read by `load(l)`. */
  const store = (L: Lanes<Ins>, acc: Ins, load: (l: (typeof leaves)[number]) => Ins) => (epi ? epi.build(L, acc, (i) => load(leaves[i]!)) : acc);
  const leafColumns = (col: number) => leaves.forEach((l) => f.from(l.col, l.row, col * l.sj * 4));
  const advanceLeafColumns = (cols: number) => leaves.forEach((l) => f.advance(l.col, cols * l.sj * 4));
  const perBatch = batched ? `, for each of [${loop.extents.join("×")}] batch (byte strides A ${loop.a.map((s) => s * 4).join("×")}, B ${loop.b.map((s) => s * 4).join("×")}, C ${loop.c.map((s) => s * 4).join("×")})` : "";
  f.comment(`C[${m}×${n}] = A·B, k = ${k}${perBatch}: ${p.mode === "along-j" ? "f32x4 along the columns of C" : "f32x4 along k"}`);
  if (params) f.comment(`A at $${pA}, row stride ${sAi}, k stride ${sAk}; B at $${pB}, k stride ${sBk}, column stride ${sBj}; C at $${pC}`);
  else f.comment(`A: ${p.a.base} at byte ${A}, row stride ${sAi}, k stride ${sAk}; B: ${p.b.base} at byte ${B}, k stride ${sBk}, column stride ${sBj}; C at byte ${C}`);
  for (const [i, l] of leaves.entries()) f.comment(`epilogue leaf ${i}: ${l.param ? `at $${l.param}` : `${l.base} at byte ${l.at}`}, row stride ${l.si}, column stride ${l.sj}`);
  const get = (nm: string) => f.get(nm);
  const acc = (r: number, j: number) => f.local(`acc${r}${j}`, "v128");
  /** acc += a ⊙ b, four lanes */
  const mulAdd = (s: string, a: string, b: string) => f.set(s, op("f32x4.add", get(s), op("f32x4.mul", get(a), get(b))));

  // rows: blocks of four, then one block of the rest; pa and pc point at the block's first row of A and C
  const rows = (height: number, body: (R: number) => void) => {
    const full = Math.floor(m / height);
    const parts: [number, number, number][] = [[0, height, full], [full * height, m % height, 1]];
    for (const [start, R, count] of parts) {
      if (!R || !count) continue;
      f.comment(`rows ${start}…${start + R * count - 1}, ${R} at a time`);
      from("pa", "ba", start * sAi * 4);
      from("pc", "bc", start * n * 4);
      for (const l of leaves) from(l.row, l.batch, start * l.si * 4);
      f.repeat("ci", count, () => {
        body(R);
        f.advance("pa", R * sAi * 4).advance("pc", R * n * 4);
        for (const l of leaves) f.advance(l.row, R * l.si * 4);
      });
    }
  };

  /** The 2-D product of one batch: C[m×n] = A[m×k]·B[k×n] from the batch's pointers. */
  const product = () => (p.mode === "along-j" ? alongJ() : alongK());
  const alongJ = () =>
    rows(ROWS, (R) => {
      const tail = n % 4;
      // vector blocks: 8 columns (two vectors), then 4 (one)
      const blocks: [number, number, number][] = [[0, 2, Math.floor(n / 8)], [n - (n % 8), 1, n % 8 >= 4 ? 1 : 0]];
      for (const [col, V, count] of blocks) {
        if (!count) continue;
        f.comment(`columns ${col}…${col + 4 * V * count - 1}, ${4 * V} at a time`);
        from("pb", "bb", col * 4);
        f.from("pcj", "pc", col * 4);
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
        f.from("qa", "pa", 0);
        from("qb", "bb", col * 4);
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
  const alongK = () =>
    rows(KROWS, (R) => {
      const kv = Math.floor(k / 4);
      const tail = k % 4;
      // the last k mod 4 elements: one more vector, ending at element k, whose lanes already summed are masked to 0 in A and B (no 0·∞)
      const mask = i32x4const([0, 1, 2, 3].map((t) => (t < 4 - tail ? 0 : -1)) as [number, number, number, number]);
      const blocks: [number, number, number][] = [[0, 4, Math.floor(n / 4)], [n - (n % 4), n % 4, 1]];
      for (const [col, J, count] of blocks) {
        if (!count || !J) continue;
        f.comment(`columns ${col}…${col + J * count - 1}, ${J} at a time`);
        from("pb", "bb", col * sBj * 4);
        f.from("pcj", "pc", col * 4);
        leafColumns(col);
        f.repeat("cj", count, () => {
          for (let r = 0; r < R; r++) for (let j = 0; j < J; j++) f.set(acc(r, j), v128zero());
          f.from("qa", "pa", 0).from("qb", "pb", 0);
          const step = (at: (base: number, stride: number) => Ins) => {
            for (let r = 0; r < R; r++) f.set(f.local(`a${r}`, "v128"), at(A + r * sAi * 4, 0));
            for (let j = 0; j < J; j++) f.set(f.local(`b${j}`, "v128"), at(B + j * sBj * 4, 1));
            for (let r = 0; r < R; r++) for (let j = 0; j < J; j++) mulAdd(acc(r, j), `a${r}`, `b${j}`);
          };
          f.repeat("cp", kv, () => {
            step((base, o) => mem("v128.load", base, get(o ? "qb" : "qa")));
            f.advance("qa", 16).advance("qb", 16);
          });
          if (tail) step((base, o) => op("v128.and", mem("v128.load", base + (k - 4) * 4, get(o ? "pb" : "pa")), mask));
          for (let r = 0; r < R; r++) {
            const at = (l: (typeof leaves)[number], j: number) => l.at + (r * l.si + j * l.sj) * 4;
            if (J === 4) {
              // the four columns' lane sums as one vector: a 4×4 transpose folded into the adds
              const [a, b, c, d] = [0, 1, 2, 3].map((j) => get(acc(r, j))) as [Ins, Ins, Ins, Ins];
              f.set(f.local("u", "v128"), op("f32x4.add", shuffle([0, 4, 1, 5], a, b), shuffle([2, 6, 3, 7], a, b)));
              f.set(f.local("w", "v128"), op("f32x4.add", shuffle([0, 4, 1, 5], c, d), shuffle([2, 6, 3, 7], c, d)));
              f.set(f.local("sums", "v128"), op("f32x4.add", shuffle([0, 1, 4, 5], get("u"), get("w")), shuffle([2, 3, 6, 7], get("u"), get("w"))));
              if (leaves.every((l) => l.sj === 0 || l.sj === 1)) {
                const value = store(vector, get("sums"), (l) => mem(l.sj ? "v128.load" : "v128.load32_splat", at(l, 0), get(l.col)));
                f.emit(mem("v128.store", C + r * n * 4, get("pcj"), value));
                continue;
              }
              // leaves strided along the columns: the epilogue one lane at a time
              for (let j = 0; j < 4; j++) f.set(acc(r, j), get("sums"));
            }
            for (let j = 0; j < J; j++) {
              const sum = J === 4 ? lane(j, get(acc(r, j))) : op("f32.add", op("f32.add", op("f32.add", lane(0, get(acc(r, j))), lane(1, get(acc(r, j)))), lane(2, get(acc(r, j)))), lane(3, get(acc(r, j))));
              // an epilogue may use the product more than once (relu): summed once, into a local
              if (epi) f.set(f.local("dot", "f32"), sum);
              const value = store(scalar, epi ? get("dot") : sum, (l) => mem("f32.load", at(l, j), get(l.col)));
              f.emit(mem("f32.store", C + (r * n + j) * 4, get("pcj"), value));
            }
          }
          f.advance("pb", J * sBj * 4).advance("pcj", J * 4);
          advanceLeafColumns(J);
        });
      }
    });
  // the batch loop: each operand's batch pointer steps by its batch stride, and rewinds after an inner axis
  const bases: [string, number[]][] = [["ba", loop.a], ["bb", loop.b], ["bc", loop.c], ...leaves.map((l, i): [string, number[]] => [l.batch, loop.leaves[i]!])];
  if (batched)
    for (const [b] of bases) {
      f.local(b, "i32");
      // a shared function's batch pointers start at its parameters (else at 0: the addresses are in the loads' offsets)
      const param = paramOf.get(b);
      if (param !== undefined) f.set(b, f.get(param));
    }
  const nest = (d: number): void => {
    if (d === loop.extents.length) return product();
    const count = loop.extents[d]!;
    f.repeat(`bt${d}`, count, () => {
      nest(d + 1);
      for (const [b, st] of bases) f.advance(b, st[d]! * 4);
    });
    if (d > 0) for (const [b, st] of bases) f.advance(b, -count * st[d]! * 4);
  };
  nest(0);
  return f;
}