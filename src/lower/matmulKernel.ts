/**
 * The matmul kernel: C = A·B over views, so Aᵀ and Bᵀ are strides, never copies. Every layout
 * backward needs (A·B, A·Bᵀ, Aᵀ·B) uses one 4×2 register-blocked micro-kernel: eight accumulators
 * in locals, four loads of A and two of B per step of k. Rows and columns that do not fill a
 * block get smaller blocks with literal bounds, so the hot loop has no branch. The readable
 * build writes the textbook triple loop instead (`plainMatmul`): the same sums in the same order.
 */
import { rowMajorStrides, type Shape } from "../ir/shape.js";
import { affine, at, read, type Epilogue, type KernelWriter, type View } from "./view.js";

const ROWS = 4;
const COLS = 2;

/** `base + k`, folded when `base` is a literal. */
const plus = (base: string, k: number) => (k === 0 ? base : /^\d+$/.test(base) ? String(Number(base) + k) : `${base} + ${k}`);

export interface MatmulDims {
  a2: number[];
  b2: number[];
  batch: number[];
  m: number;
  k: number;
  n: number;
}

/** The batch-broadcast, 1-D-promoted view of an operand, shaped [...batch, rows, cols]. */
export function promote(v: View, promoted: number[], batch: number[]): View {
  const vs = v.shape.length === 1 ? (promoted[0] === 1 ? [0, v.strides[0]!] : [v.strides[0]!, 0]) : [...v.strides];
  const lead = batch.length - (promoted.length - 2);
  const bStrides = batch.map((d, i) => (i < lead || promoted[i - lead] !== d ? 0 : vs[i - lead]!));
  return { ...v, shape: [...batch, ...promoted.slice(-2)], strides: [...bStrides, ...vs.slice(-2)] };
}

export function emitMatmul(w: KernelWriter, out: View, av: View, bv: View, d: MatmulDims, epilogue: Epilogue = (acc) => acc): void {
  const { a2, b2, batch, m, k, n } = d;
  const A = promote(av, a2, batch);
  const B = promote(bv, b2, batch);
  const outShape: Shape = [...batch, m, n];
  const C: View = { ...out, shape: outShape, strides: rowMajorStrides(outShape) };
  const L = (name: string) => w.local(name);
  if (w.readable) return plainMatmul(w, C, A, B, d, epilogue);
  const bvars = batch.map((_, i) => L(`bi${i}`));

  /** One block of `rows`×`cols` outputs at rows i.., columns j.. */
  const block = (i: string, rows: number, j: string, cols: number, scoped: boolean) => {
    const body = () => {
      const acc = (r: number, c: number) => L(`acc${r}${c}`);
      const names: string[] = [];
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) names.push(`${acc(r, c)} = 0`);
      w.line(`let ${names.join(", ")};`);
      // where each row of A and column of B starts, computed once per block, not once per step of k
      const rowA = (r: number) => affine(A.offset, [...bvars, plus(i, r)], A.strides.slice(0, -1));
      const colB = (c: number) => affine(B.offset, [...bvars, plus(j, c)], [...B.strides.slice(0, -2), B.strides[B.strides.length - 1]!]);
      for (let r = 0; r < rows; r++) w.line(`const ${L(`ra${r}`)} = ${rowA(r)};`);
      for (let c = 0; c < cols; c++) w.line(`const ${L(`cb${c}`)} = ${colB(c)};`);
      const sAk = A.strides[A.strides.length - 1]!;
      const sBk = B.strides[B.strides.length - 2]!;
      const p = L("p");
      const step = (base: string, s: number) => (s === 0 ? base : `${base} + ${affine(0, [p], [s])}`);
      w.loop(p, k, () => {
        for (let r = 0; r < rows; r++) w.line(`const ${L(`ai${r}`)} = ${A.base}[${step(L(`ra${r}`), sAk)}]!;`);
        for (let c = 0; c < cols; c++) w.line(`const ${L(`bj${c}`)} = ${B.base}[${step(L(`cb${c}`), sBk)}]!;`);
        for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) w.line(`${acc(r, c)} += ${L(`ai${r}`)} * ${L(`bj${c}`)};`);
      });
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < cols; c++) {
          const vars = [...bvars, plus(i, r), plus(j, c)];
          w.line(`${at(C, vars)} = ${epilogue(acc(r, c), vars)};`);
        }
    };
    // a block that is not a loop body gets braces of its own, to scope its accumulators
    if (scoped) w.block("", body);
    else body();
  };
  const columns = (i: string, rows: number) => {
    const nFull = n - (n % COLS);
    const j = L("j");
    if (nFull === COLS) block(i, rows, "0", COLS, true);
    else if (nFull > 0) w.block(`for (let ${j} = 0; ${j} < ${nFull}; ${j} += ${COLS})`, () => block(i, rows, j, COLS, false));
    if (n % COLS) block(i, rows, String(nFull), n % COLS, true);
  };
  const nest = (dd: number): void => {
    if (dd < batch.length) return w.loop(bvars[dd]!, batch[dd]!, () => nest(dd + 1));
    const mFull = m - (m % ROWS);
    const i = L("i");
    if (mFull === ROWS) columns("0", ROWS);
    else if (mFull > 0) w.block(`for (let ${i} = 0; ${i} < ${mFull}; ${i} += ${ROWS})`, () => columns(i, ROWS));
    if (m % ROWS) columns(String(mFull), m % ROWS);
  };
  nest(0);
}

/** A read of `v` at `vars`, its terms ordered by stride, largest first (`W1[j * 64 + p]`, not `W1[p + j * 64]`). */
function readByStride(v: View, vars: string[]): string {
  const order = v.strides.map((_, i) => i).sort((x, y) => v.strides[y]! - v.strides[x]! || x - y);
  return read({ ...v, shape: order.map((i) => v.shape[i]!), strides: order.map((i) => v.strides[i]!) }, order.map((i) => vars[i]!));
}

/**
 * The readable build's matmul: for each output element, one accumulator summed over k in order
 * (as every block of the register-blocked kernel does), then stored through the epilogue. An axis
 * of size 1 gets no loop: its index is 0.
 */
function plainMatmul(w: KernelWriter, C: View, A: View, B: View, d: MatmulDims, epilogue: Epilogue): void {
  const { batch, m, k, n } = d;
  const loop = (name: string, extent: number, body: (v: string) => void) => {
    if (extent === 1) return body("0");
    const v = w.local(name);
    w.loop(v, extent, () => body(v));
  };
  const nest = (dd: number, bvars: string[]): void => {
    if (dd < batch.length) return loop(`bi${dd}`, batch[dd]!, (b) => nest(dd + 1, [...bvars, b]));
    loop("i", m, (i) =>
      loop("j", n, (j) => {
        const acc = w.local("acc");
        const p = k === 1 ? "0" : w.local("p");
        const term = `${readByStride(A, [...bvars, i, p])} * ${readByStride(B, [...bvars, p, j])}`;
        w.line(`let ${acc} = 0;`);
        w.line(k === 1 ? `${acc} += ${term};` : `for (let ${p} = 0; ${p} < ${k}; ${p}++) ${acc} += ${term};`);
        const vars = [...bvars, i, j];
        w.line(`${at(C, vars)} = ${epilogue(acc, vars)};`);
      }),
    );
  };
  nest(0, []);
}
