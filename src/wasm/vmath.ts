/**
 * Elementwise functions in four f32 lanes, branch-free (every lane computes every piece and a
 * select keeps its own): eˣ and erf, and the few f32x4 instructions they and the map kernels
 * (src/wasm/map.ts) need beyond src/wasm/module.ts's. Accuracy, against Math.exp / the float64 erf
 * rounded to float32 (test/wasm/vmath.test.ts sweeps it): eˣ within 1 ulp, erf within 2 ulps
 * (relative for small |x|: erf(x) ≈ 1.128·x keeps its bits down to the subnormals). NaN and ±∞ give
 * what JavaScript's functions give: exp(NaN) = NaN, exp(+∞) = +∞, exp(−∞) = 0, erf(±∞) = ±1.
 */
import { f32x4const, i32, i32x4const, op, type Func, type Ins, type PlainOp } from "./module.js";

/** An instruction of src/wasm/module.ts's table as a function of its operands. */
const simd =
  (o: PlainOp) =>
  (...args: Ins[]): Ins =>
    op(o, ...args);
export const V = {
  min: simd("f32x4.min"),
  max: simd("f32x4.max"),
  abs: simd("f32x4.abs"),
  sqrt: simd("f32x4.sqrt"),
  nearest: simd("f32x4.nearest"),
  lt: simd("f32x4.lt"),
  ge: simd("f32x4.ge"),
  or: simd("v128.or"),
  and: simd("v128.and"),
  bitselect: simd("v128.bitselect"),
  truncSat: simd("i32x4.trunc_sat_f32x4_s"),
  iadd: simd("i32x4.add"),
  isub: simd("i32x4.sub"),
  /** Lanes shifted by an i32 count. */
  shl: simd("i32x4.shl"),
  shrS: simd("i32x4.shr_s"),
  /** 1 when any lane is not zero (an i32). */
  anyTrue: simd("v128.any_true"),
};
const add = (a: Ins, b: Ins) => op("f32x4.add", a, b);
const sub = (a: Ins, b: Ins) => op("f32x4.sub", a, b);
const mul = (a: Ins, b: Ins) => op("f32x4.mul", a, b);
const div = (a: Ins, b: Ins) => op("f32x4.div", a, b);
const c = f32x4const;
const splatI = (v: number) => i32x4const([v, v, v, v]);

/** Temporaries of one function: a value used more than once is computed once into a v128 local. */
export class Temps {
  private n = 0;
  constructor(readonly f: Func) {}
  /** A fresh v128 local. */
  fresh(): string {
    return this.f.local(`t${this.n++}`, "v128");
  }
  /** `v` in a fresh local (a local.get is already one). */
  bind(v: Ins): Ins {
    if (v.text.startsWith("local.get")) return v;
    const t = this.fresh();
    this.f.set(t, v);
    return this.f.get(t);
  }
}

/** Horner's rule: c₀ + x·(c₁ + x·(c₂ + …)), each coefficient a splat or an Ins (a per-lane choice). */
const horner = (x: Ins, cs: readonly (number | Ins)[]): Ins => {
  const k = (v: number | Ins) => (typeof v === "number" ? c(v) : v);
  let acc = k(cs[cs.length - 1]!);
  for (let i = cs.length - 2; i >= 0; i--) acc = add(k(cs[i]!), mul(x, acc));
  return acc;
};

/** eʳ = 1 + r + r²·P(r): P's coefficients, constant term first (Cephes expf's minimax fit on |r| ≤ ln2/2). */
export const EXP_POLY = [5.0000001201e-1, 1.6666665459e-1, 4.1665795894e-2, 8.3334519073e-3, 1.3981999507e-3, 1.98756915e-4];

/**
 * eˣ (Cephes expf): n = round(x·log₂e), r = x − n·ln2 with ln2 in two parts (n·C1 is exact: C1 has
 * 9 bits), eʳ = 1 + r + r²·P(r) on |r| ≤ ln2/2, times 2ⁿ built in the exponent bits. 2ⁿ is applied
 * as two factors 2^⌊n/2⌋·2^(n−⌊n/2⌋), each a normal float, so that results that overflow give +∞ and
 * results in the subnormals are rounded once, as Math.exp then Math.fround round them. x is clamped
 * to [−104, 89] first (e⁻¹⁰⁴ rounds to 0 and e⁸⁹ to +∞ in float32); f32x4.max/min pass NaN through.
 */
export function vexp(t: Temps, x: Ins): Ins {
  const xc = t.bind(V.min(V.max(x, c(-104)), c(89)));
  const n = t.bind(V.nearest(mul(xc, c(Math.LOG2E))));
  const r = t.bind(sub(sub(xc, mul(n, c(0.693359375))), mul(n, c(-2.12194440e-4))));
  const p = horner(r, EXP_POLY);
  const y = add(add(mul(mul(p, r), r), r), c(1));
  const ni = t.bind(V.truncSat(n));
  const n1 = t.bind(V.shrS(ni, i32(1)));
  const pow2 = (k: Ins) => V.shl(V.iadd(k, splatI(127)), i32(23));
  return mul(mul(y, pow2(n1)), pow2(V.isub(ni, n1)));
}

// fdlibm's erf coefficients (the float64 ones of src/ops/erf.ts, which f32x4const rounds to float32, as musl's erff has them)
const PP = [1.28379167095512558561e-1, -3.25042107247001499370e-1, -2.84817495755985104766e-2, -5.77027029648944159157e-3, -2.37630166566501626084e-5];
const QQ = [1, 3.97917223959155352819e-1, 6.50222499887672944485e-2, 5.08130628187576562776e-3, 1.32494738004321644526e-4, -3.96022827877536812320e-6];
const PA = [-2.36211856075265944077e-3, 4.14856118683748331666e-1, -3.72207876035701323847e-1, 3.18346619901161753674e-1, -1.10894694282396677476e-1, 3.54783043256182359371e-2, -2.16637559486879084300e-3];
const QA = [1, 1.06420880400844228286e-1, 5.40397917702171048937e-1, 7.18286544141962662868e-2, 1.26171219808761642112e-1, 1.36370839120290507362e-2, 1.19844998467991074170e-2];
const RA = [-9.86494403484714822705e-3, -6.93858572707181764372e-1, -1.05586262253232909814e1, -6.23753324503260060396e1, -1.62396669462573470355e2, -1.84605092906711035994e2, -8.12874355063065934246e1, -9.81432934416914548592];
const SA = [1, 1.96512716674392571292e1, 1.37657754143519042600e2, 4.34565877475229228821e2, 6.45387271733267880336e2, 4.29008140027567833386e2, 1.08635005541779435134e2, 6.57024977031928170135, -6.04244152148580987438e-2];
// the [1/0.35, 6) fit has one term fewer in each: a 0 pads it to the same length, so one Horner chain serves both
const RB = [-9.86494292470009928597e-3, -7.99283237680523006574e-1, -1.77579549177547519889e1, -1.60636384855821916062e2, -6.37566443368389627722e2, -1.02509513161107724954e3, -4.83519191608651397019e2, 0];
const SB = [1, 3.03380607434824582924e1, 3.25792512996573918826e2, 1.53672958608443695994e3, 3.19985821950859553908e3, 2.55305040643316442583e3, 4.74528541206955367215e2, -2.24409524465858183362e1, 0];
const ERX = 8.45062911510467529297e-1;

/**
 * erf (musl's erff, fdlibm's method in float32), every piece computed in every lane and the lane's own
 * kept, on a = |x| (the sign put back at the end):
 *   a < 0.84375        a + a·PP(a²)/QQ(a²)                 (relative accuracy down to the subnormals)
 *   a < 1.25           erx + PA(a−1)/QA(a−1)
 *   a < 4              1 − e^(−z²−0.5625)·e^((z−a)(z+a) + R(s)/S(s))/a, s = 1/a², z = a cut to 11 bits (z² exact),
 *                      R/S the [1.25, 1/0.35) fit or the [1/0.35, 6) one chosen per lane
 *   a ≥ 4, ±∞          1 (erf(4) rounds to 1 in float32); NaN fails every test and keeps the second piece's NaN.
 * The tail runs only when a lane is at 1.25 or beyond (an `if` on v128.any_true).
 */
export function verf(t: Temps, x: Ins): Ins {
  const xv = t.bind(x);
  const a = t.bind(V.abs(xv));
  const z2 = t.bind(mul(a, a));
  const small = add(a, mul(a, div(horner(z2, PP), horner(z2, QQ))));
  const s1 = t.bind(sub(a, c(1)));
  const medium = add(c(ERX), div(horner(s1, PA), horner(s1, QA)));
  const y = t.fresh();
  t.f.set(y, V.bitselect(small, medium, V.lt(a, c(0.84375))));
  // the tail (two exponentials) only when a lane needs it: GELU's inputs mostly do not (a NaN lane keeps medium's NaN)
  t.f.when(V.anyTrue(V.ge(a, c(1.25))), () => {
    // on min(a, 4): beyond, the lanes take 1 and what the tail computes there does not matter
    const at = t.bind(V.min(a, c(4)));
    const s = t.bind(div(c(1), mul(at, at)));
    const near = t.bind(V.lt(at, c(1 / 0.35)));
    const pick = (xs: number[], ys: number[]) => xs.map((v, i) => (v === ys[i] ? v : V.bitselect(c(v), c(ys[i]!), near)));
    const RS = div(horner(s, pick(RA, RB)), horner(s, pick(SA, SB)));
    const z = t.bind(V.and(at, splatI(0xffffe000 | 0)));
    const e = mul(vexp(t, sub(c(-0.5625), mul(z, z))), vexp(t, add(mul(sub(z, at), add(z, at)), RS)));
    const tail = sub(c(1), div(e, at));
    t.f.set(y, V.bitselect(t.f.get(y), V.bitselect(c(1), tail, V.ge(a, c(4))), V.lt(a, c(1.25))));
  });
  // the sign of x on |erf|: y ≥ 0, so or-ing in x's sign bit negates it
  return V.or(t.f.get(y), V.and(xv, splatI(-0x80000000)));
}
