/**
 * Max pooling's kernels as WebAssembly, for float32 models.
 *   argmax   training's `maxPool2dIndex` over 2×2 windows at stride 2 without padding (LeNet's
 *            pooling), four windows per f32x4 vector. A window's two rows are two pairs of vectors
 *            of x (eight columns each); shuffles split each pair into its even and odd columns, the
 *            window's cells a, b (top) and c, d (bottom) for four windows at once. Then, branch-free,
 *            in the JavaScript kernel's order and with its NaN rule (`v > best || (v !== v && best
 *            === best)`: the first NaN wins):
 *              take = (v > best) | ((v ≠ v) & (best = best));  best = take ? v : best;  where = take ? pos(v) : where
 *            and the four int32 positions h·W + w are stored. A row whose OW is not a multiple of 4
 *            ends with one vector at OW − 4, overlapping the one before (it stores the same
 *            positions again). Other windows, strides, padding, rows narrower than 4 or a strided x
 *            run the JavaScript loops.
 *   scatter  `maxPool2dGrad`, dX = 0; dX[argmax] += dY, any window: the zeros in f32x4 stores, then
 *            the scalar scatter in the JavaScript loop's order (the same sums, bit for bit).
 *   gather   `maxPool2dGather`, Y = X[argmax], any window: one scalar load per output.
 * The scatter and the gather need contiguous operands.
 */
import type { Node } from "../ir/graph.js";
import { sameShape } from "../ir/shape.js";
import { isContiguous, type View } from "../lower/view.js";
import type { PoolAttrs } from "../ops/poolWindows.js";
import type { LaneEpilogue } from "./matmul.js";
import { zeroFill } from "./nest.js";
import { Func, i32, i32x4const, mem, op, shuffle, v128zero, type Ins } from "./module.js";

/** x [..., H, W] pooled to [..., OH, OW]: `planes` planes (the lead axes' product). */
interface Planes {
  planes: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
}
export type SimdPool = Planes & {
  kind: "pool";
  /** Never set: no elementwise epilogue runs in these kernels' lanes (epilogueFits says so). */
  epilogue?: LaneEpilogue;
} & (
    | { mode: "argmax" | "max"; /** contiguous */ x: View }
    | {
        mode: "scatter";
        /** dY and argmax, [..., OH, OW], contiguous; the output is dX [..., H, W] */
        dy: View;
        idx: View;
        /** argmax is a 2×2, stride-2 maxPool2dIndex's (each position within its own window) and H, W are even: every cell written once */
        windows: boolean;
      }
    | { mode: "gather"; /** X [..., H, W] and argmax [..., OH, OW], contiguous */ x: View; idx: View }
  );

const planes = (s: readonly number[], OH: number, OW: number): Planes => ({ planes: s.slice(0, -2).reduce((a, d) => a * d, 1), H: s[s.length - 2]!, W: s[s.length - 1]!, OH, OW });

/**
 * The argmax plan (or, `max`, eval mode's maximum itself), or undefined when the window is not 2×2
 * at stride 2 without padding, x is strided, or a row has fewer than 4 windows.
 */
export function planPool(x: View, { kernel, stride, padding }: PoolAttrs, mode: "argmax" | "max" = "argmax"): SimdPool | undefined {
  const r = x.shape.length;
  const [OH, OW] = [Math.floor(x.shape[r - 2]! / 2), Math.floor(x.shape[r - 1]! / 2)];
  if ([...kernel, ...stride].some((k) => k !== 2) || padding.some((p) => p !== 0) || !isContiguous(x) || OW < 4 || OH < 1) return undefined;
  return { kind: "pool", mode, x, ...planes(x.shape, OH, OW) };
}

/**
 * The scatter's plan (dX shaped `shape`), or undefined when dY or the index is strided. `argmax`, the
 * index's node: when it is a 2×2, stride-2 maxPool2dIndex without padding (each position lies in its
 * own window), H and W are even and a row has at least 4 windows, the windows are written whole.
 */
export function planPoolScatter(dy: View, idx: View, shape: readonly number[], argmax: Node): SimdPool | undefined {
  if (!isContiguous(dy) || !isContiguous(idx)) return undefined;
  const pl = planes(shape, dy.shape[dy.shape.length - 2]!, dy.shape[dy.shape.length - 1]!);
  const a = argmax.attrs as PoolAttrs;
  // positions h·W + w of an x shaped as dX, each in its own 2×2 window
  const own = argmax.op === "maxPool2dIndex" && sameShape(argmax.inputs[0]!.shape, shape) && [...a.kernel, ...a.stride].every((k) => k === 2) && a.padding.every((q) => q === 0);
  return { kind: "pool", mode: "scatter", dy, idx, windows: own && pl.H % 2 === 0 && pl.W % 2 === 0 && pl.OW >= 4, ...pl };
}

/**
 * The gather's plan, or undefined when X or the index is strided. `operands`, the nodes of X and
 * the index: when the index is X's own 2×2, stride-2 argmax, X[argmax] is each window's maximum,
 * which the argmax's vectors compute again without reading the index (the same bits: a maximum is
 * one of the window's values, chosen by the same rule).
 */
export function planPoolGather(x: View, idx: View, [xn, index]: readonly Node[]): SimdPool | undefined {
  if (index!.op === "maxPool2dIndex" && index!.inputs[0] === xn) {
    const again = planPool(x, index!.attrs as PoolAttrs, "max");
    if (again) return again;
  }
  if (!isContiguous(x) || !isContiguous(idx)) return undefined;
  return { kind: "pool", mode: "gather", x, idx, ...planes(x.shape, idx.shape[idx.shape.length - 2]!, idx.shape[idx.shape.length - 1]!) };
}

export const poolReads = (p: SimdPool): string[] => (p.mode === "scatter" ? [p.dy.base, p.idx.base] : p.mode === "gather" ? [p.x.base, p.idx.base] : [p.x.base]);

/** Its functions are named pool_<output>. */
export const planPoolPrefix = "pool";

export const poolHow = (p: SimdPool): string =>
  p.mode === "argmax" || p.mode === "max" ? "2×2 windows four at a time, f32x4 compares and bitselects" : p.mode === "scatter" ? (p.windows ? "2×2 windows four at a time, each cell written once" : "f32x4 zeros, then the scatter") : "one load per output";

/** The even f32 lanes of a ‖ b (columns 0, 2, 4, 6 of eight), and the odd ones. */
const EVEN = [0, 2, 4, 6] as const;
const ODD = [1, 3, 5, 7] as const;
/** Lanes a0 b0 a1 b1 (LOW) and a2 b2 a3 b3 (HIGH) of a ‖ b: two vectors of four columns interleaved back into a row of eight. */
const LOW = [0, 4, 1, 5] as const;
const HIGH = [2, 6, 3, 7] as const;
const lanes4 = (f: (l: number) => number) => [0, 1, 2, 3].map(f) as [number, number, number, number];

/**
 * The loops over every 2×2 window at stride 2, four at a time: planes, rows oh, then vectors of four
 * windows from column 2·ow. `body(ptr, dBig, dSmall, dPos)` writes four windows at the pointers
 * ptr = [big, small, pos] (bytes into the H × W plane at the window's top-left cell, bytes into the
 * OH × OW plane, that cell's plane position h·W + w) plus literal deltas. A row whose OW is not a
 * multiple of 4 ends with one vector at OW − 4, overlapping the one before (its lanes are computed
 * and stored again, with the same values).
 */
function windowRows(f: Func, p: Planes, body: (ptr: [string, string, string], dBig: number, dSmall: number, dPos: number) => void): void {
  const { W, OH, OW } = p;
  for (const nm of ["x", "z", "xr", "zr", "pr", "xc", "zc", "pc"]) f.local(nm, "i32");
  f.set("x", i32(0)).set("z", i32(0));
  f.repeat("cp", p.planes, () => {
    f.from("xr", "x", 0).from("zr", "z", 0).set("pr", i32(0));
    f.repeat("ch", OH, () => {
      f.from("xc", "xr", 0).from("zc", "zr", 0).from("pc", "pr", 0);
      f.repeat("cj", Math.floor(OW / 4), () => {
        body(["xc", "zc", "pc"], 0, 0, 0);
        f.advance("xc", 32).advance("zc", 16).advance("pc", 8);
      });
      // the last vector, at column OW − 4 of the row
      if (OW % 4) body(["xr", "zr", "pr"], (OW - 4) * 8, (OW - 4) * 4, 2 * (OW - 4));
      f.advance("xr", 2 * W * 4).advance("zr", OW * 4).advance("pr", 2 * W);
    });
    f.advance("x", p.H * W * 4).advance("z", OH * OW * 4);
  });
}

/** The kernel as a function named `name`; `addr(base)` is a buffer's arena byte offset, `out` the output's. */
export function simdPoolFunc(name: string, p: SimdPool, addr: (base: string) => number, out: number): Func {
  const f = new Func(name);
  const at = (v: View) => addr(v.base) + v.offset * 4;
  const dims = `[${p.planes}, ${p.H}, ${p.W}] ↔ [${p.planes}, ${p.OH}, ${p.OW}]`;
  const v = (nm: string) => f.local(nm, "v128");
  const { W } = p;
  // the plane positions of cell `d` (0, 1, W, W + 1) of four windows from the pointer pos (plus `dpos`)
  const positions = (pp: string, dpos: number, d: number) => op("i32x4.add", op("i32x4.splat", f.get(pp)), i32x4const(lanes4((l) => dpos + d + 2 * l)));
  if (p.mode === "argmax" || p.mode === "max") {
    const argmax = p.mode === "argmax";
    const A = at(p.x);
    f.comment(argmax ? `argmax of maxpool(x, 2×2), int32 positions h·W + w of each window's first maximum: ${dims}` : `maxpool(x, 2×2), each window's maximum (NaN wins): ${dims}`);
    f.comment(`${p.x.base} at byte ${A}, output at byte ${out}`);
    windowRows(f, p, ([px, pz, pp], dx, dz, dpos) => {
      const load = (row: number, half: number) => mem("v128.load", A + dx + row * W * 4 + half * 16, f.get(px));
      const cells: [Ins, number][] = [
        [shuffle(ODD, load(0, 0), load(0, 1)), 1],
        [shuffle(EVEN, load(1, 0), load(1, 1)), W],
        [shuffle(ODD, load(1, 0), load(1, 1)), W + 1],
      ];
      f.set(v("best"), shuffle(EVEN, load(0, 0), load(0, 1)));
      if (argmax) f.set(v("where"), positions(pp, dpos, 0));
      for (const [cell, d] of cells) {
        f.set(v("v"), cell);
        // take = v > best, or v is NaN and best is not
        const nan = op("v128.and", op("f32x4.ne", f.get("v"), f.get("v")), op("f32x4.eq", f.get("best"), f.get("best")));
        f.set(v("take"), op("v128.or", op("f32x4.gt", f.get("v"), f.get("best")), nan));
        if (argmax) f.set("where", op("v128.bitselect", positions(pp, dpos, d), f.get("where"), f.get("take")));
        f.set("best", op("v128.bitselect", f.get("v"), f.get("best"), f.get("take")));
      }
      f.emit(mem("v128.store", out + dz, f.get(pz), f.get(argmax ? "where" : "best")));
    });
    return f;
  }
  if (p.mode === "scatter" && p.windows) {
    // every cell written once, no zeros first: dY where the window's argmax is that cell, else 0
    const [G, I] = [at(p.dy), at(p.idx)];
    f.comment(`dX = maxpool_transpose(dY at argmax) over 2×2 windows at stride 2, each cell written once: ${dims}`);
    f.comment(`dY at byte ${G}, argmax at byte ${I}, dX at byte ${out}`);
    windowRows(f, p, ([px, pz, pp], dx, dz, dpos) => {
      f.set(v("g"), mem("v128.load", G + dz, f.get(pz)));
      f.set(v("where"), mem("v128.load", I + dz, f.get(pz)));
      // dY in the lanes whose argmax is cell d, +0 elsewhere; + 0 turns a −0 into +0, as 0 + dY does in the loops
      const cell = (d: number) => op("f32x4.add", op("v128.and", f.get("g"), op("i32x4.eq", f.get("where"), positions(pp, dpos, d))), v128zero());
      for (const [row, [d0, d1]] of [[0, [0, 1]], [1, [W, W + 1]]] as const) {
        f.set(v("c0"), cell(d0));
        f.set(v("c1"), cell(d1));
        const at = out + dx + row * W * 4;
        f.emit(mem("v128.store", at, f.get(px), shuffle(LOW, f.get("c0"), f.get("c1"))));
        f.emit(mem("v128.store", at + 16, f.get(px), shuffle(HIGH, f.get("c0"), f.get("c1"))));
      }
    });
    return f;
  }
  return scalarPoolFunc(f, p as SimdPool & { mode: "scatter" | "gather" }, at, out);
}

/**
 * The scatter dX[argmax] += dY (after dX = 0) or the gather Y = X[argmax], for any window: per
 * plane, one output cell at a time in the JavaScript loop's order; the plane's base pointer plus
 * 4·argmax addresses the cell (argmax is h·W + w within its plane).
 */
function scalarPoolFunc(f: Func, p: SimdPool & { mode: "scatter" | "gather" }, at: (v: View) => number, out: number): Func {
  const { planes, H, W, OH, OW } = p;
  const I = at(p.idx);
  for (const nm of ["big", "small", "idx", "b", "c"]) f.local(nm, "i32");
  // big: the plane of H × W (dX, or X), small: the plane of OH × OW (dY, or Y), idx: the index's
  const [B, S] = p.mode === "scatter" ? [out, at(p.dy)] : [at(p.x), out];
  const cell = (k: number) => mem("i32.load", I + k * 4, f.get("c"));
  const inBig = (k: number) => op("i32.add", f.get("b"), op("i32.shl", cell(k), i32(2)));
  if (p.mode === "scatter") {
    f.comment(`dX = 0; dX[argmax] += dY: dY [${planes}, ${OH}, ${OW}] at byte ${S}, argmax at byte ${I}, dX [${planes}, ${H}, ${W}] at byte ${B}`);
    zeroFill(f, B, planes * H * W);
  } else f.comment(`Y = X[argmax]: X [${planes}, ${H}, ${W}] at byte ${B}, argmax [${planes}, ${OH}, ${OW}] at byte ${I}, Y at byte ${S}`);
  // the cells of a plane four (or two, or one) at a time, at literal offsets from the cell pointer c
  const u = [4, 2, 1].find((k) => (OH * OW) % k === 0)!;
  f.set("big", i32(0)).set("small", i32(0));
  f.repeat("cp", planes, () => {
    f.from("b", "big", 0).from("c", "small", 0);
    f.repeat("cc", (OH * OW) / u, () => {
      for (let k = 0; k < u; k++) {
        if (p.mode === "scatter") {
          f.set("idx", inBig(k));
          f.emit(mem("f32.store", B, f.get("idx"), op("f32.add", mem("f32.load", B, f.get("idx")), mem("f32.load", S + k * 4, f.get("c")))));
        } else f.emit(mem("f32.store", S + k * 4, f.get("c"), mem("f32.load", B, inBig(k))));
      }
      f.advance("c", u * 4);
    });
    f.advance("big", H * W * 4).advance("small", OH * OW * 4);
  });
  return f;
}
