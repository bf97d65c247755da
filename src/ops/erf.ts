/**
 * erf(x) = 2/√π ∫₀ˣ exp(−t²) dt, accurate to float64 rounding (within 2.3e-16 relative of
 * libm's erf over [−7, 7]): the generated code calls the module's `erf` helper
 * (templates/module.ts), the same function as `erf64` here, which the interpreter uses.
 */
import { unary } from "./family.js";

/** erfTail's argument and result (see erf). */
const erfIo = new Float64Array(2);

/** erf in float64, fdlibm's method (the template's `erf` helper is this function, line for line). */
export function erf64(x: number): number {
  // fdlibm's s_erf.c (Sun, 1993): rational fits on [0, 0.84375), [0.84375, 1.25), [1.25, 1/0.35),
  // [1/0.35, 6), each within 2⁻⁵⁷ of erf or of log(x·erfc(x)) + x² − 0.5625, so the result is
  // within an ulp or two of erf in float64; erf(x) rounds to ±1 for |x| ≥ 6
  const a = Math.abs(x);
  if (!(a < 6)) return a === a ? (x < 0 ? -1 : 1) : x;
  if (a < 0.84375) {
    if (a < 3.7252902984e-9) return x + 1.28379167095512586316e-1 * x;
    const z = x * x;
    const r = 1.28379167095512558561e-1 + z * (-3.25042107247001499370e-1 + z * (-2.84817495755985104766e-2 + z * (-5.77027029648944159157e-3 + z * -2.37630166566501626084e-5)));
    const s = 1 + z * (3.97917223959155352819e-1 + z * (6.50222499887672944485e-2 + z * (5.08130628187576562776e-3 + z * (1.32494738004321644526e-4 + z * -3.96022827877536812320e-6))));
    return x + x * (r / s);
  }
  // the rest of the range in a function of its own: this part stays small enough for V8 to inline at
  // every call; the tail's argument and result go through erfIo, since a call V8 does not inline
  // boxes every float64 it passes or returns (an allocation each)
  erfIo[0] = x;
  erfTail();
  return erfIo[1]!;
}

/** erf(x) for 0.84375 ≤ |x| < 6, x read from erfIo[0], the result written to erfIo[1]. */
function erfTail(): void {
  const x = erfIo[0]!;
  const a = Math.abs(x);
  let y: number;
  if (a < 1.25) {
    const s = a - 1;
    const p = -2.36211856075265944077e-3 + s * (4.14856118683748331666e-1 + s * (-3.72207876035701323847e-1 + s * (3.18346619901161753674e-1 + s * (-1.10894694282396677476e-1 + s * (3.54783043256182359371e-2 + s * -2.16637559486879084300e-3)))));
    const q = 1 + s * (1.06420880400844228286e-1 + s * (5.40397917702171048937e-1 + s * (7.18286544141962662868e-2 + s * (1.26171219808761642112e-1 + s * (1.36370839120290507362e-2 + s * 1.19844998467991074170e-2)))));
    y = 8.45062911510467529297e-1 + p / q;
  } else {
    const s = 1 / (a * a);
    let r: number, q: number;
    if (a < 1 / 0.35) {
      r = -9.86494403484714822705e-3 + s * (-6.93858572707181764372e-1 + s * (-1.05586262253232909814e1 + s * (-6.23753324503260060396e1 + s * (-1.62396669462573470355e2 + s * (-1.84605092906711035994e2 + s * (-8.12874355063065934246e1 + s * -9.81432934416914548592))))));
      q = 1 + s * (1.96512716674392571292e1 + s * (1.37657754143519042600e2 + s * (4.34565877475229228821e2 + s * (6.45387271733267880336e2 + s * (4.29008140027567833386e2 + s * (1.08635005541779435134e2 + s * (6.57024977031928170135 + s * -6.04244152148580987438e-2)))))));
    } else {
      r = -9.86494292470009928597e-3 + s * (-7.99283237680523006574e-1 + s * (-1.77579549177547519889e1 + s * (-1.60636384855821916062e2 + s * (-6.37566443368389627722e2 + s * (-1.02509513161107724954e3 + s * -4.83519191608651397019e2)))));
      q = 1 + s * (3.03380607434824582924e1 + s * (3.25792512996573918826e2 + s * (1.53672958608443695994e3 + s * (3.19985821950859553908e3 + s * (2.55305040643316442583e3 + s * (4.74528541206955367215e2 + s * -2.24409524465858183362e1))))));
    }
    // exp(−x²) as exp(−h² − 0.5625)·exp((h − x)(h + x) + r/q), h = x cut to 20 bits after the point: h² is exact
    const scale = a < 2 ? 1048576 : a < 4 ? 524288 : 262144;
    const h = Math.floor(a * scale) / scale;
    y = 1 - (Math.exp(-h * h - 0.5625) * Math.exp((h - a) * (h + a) + r / q)) / a;
  }
  erfIo[1] = x < 0 ? -y : y;
}

export const erf = unary("erf", {
  doc: "the error function 2/√π ∫₀ˣ exp(−t²) dt, accurate to float64 rounding",
  f: erf64,
  expr: (x) => `erf(${x})`,
  torch: (x) => `torch.erf(${x})`,
  onnx: (o, x) => o.node("Erf", [x]),
  lanes: (L, x) => L.erf!(x),
  math: (x) => `erf(${x})`,
  // d erf(x) = 2/√π·exp(−x²)·dx
  vjp: ({ inputs: [x], dy }, b) => [b.mul(dy, b.mul(b.exp(b.neg(b.square(x!))), 2 / Math.sqrt(Math.PI)))],
});
