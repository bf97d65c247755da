/**
 * The convolution kernels as WebAssembly SIMD (f32x4), for float32 models: implicit GEMM, no
 * im2col buffer. The lanes run along a row of the output (four consecutive ow), where x, Z and
 * dX are contiguous when the column stride is 1:
 *   forward      Z = X ⋆ W: blocks of 4 output channels × 8 columns in eight f32x4 accumulators;
 *                each step of (c, kh, kw) splats four weights and loads two vectors of x.
 *   input grad   dX = conv_transpose(dZ, W): a scatter. A block of 4 channels × 8 columns of dZ
 *                stays in registers; for each (kw, c, kh) four weights are splatted and two
 *                vectors of dX are read, added to and stored (kw outermost, so consecutive
 *                stores do not overlap).
 *   weight grad  dW = dZ ⋆ X: blocks of 4 output channels × 2 kernel columns, each an f32x4 of
 *                partial sums over (n, oh, ow), summed across lanes and added to dW once per chunk
 *                of samples small enough that its dZ stays in the L1 cache.
 * A row whose width is not a multiple of 4 ends with one vector at OW − 4, overlapping the one
 * before: the forward pass stores the same values twice; the gradients mask the lanes already done.
 * Trap: V8's optimizing compiler moves the loads of a loop body to its top. With several taps
 * unrolled in one body, the 6 loads of each tap are live at once beside the 8 accumulators, more
 * than the 16 vector registers, and they are spilled to the stack and reloaded: the forward kernel
 * unrolled over kw ran at half the speed of one tap per iteration, and dW with two vectors per
 * iteration lost a fifth (bench/convKernels.mjs). So the loops whose accumulators stay in registers
 * (forward, dW) run one step per iteration; the scatter (dX), whose stores order its loads, unrolls
 * only its kernel rows (kw a loop: unrolled too, it ran no faster and made the module a fifth larger).
 * Plans need a column stride of 1, rows of at least 4 and contiguous operands; else the
 * JavaScript loops (src/lower/convLoops.ts) run. Sums are float32, as XNNPACK's.
 */
import { isContiguous, type View } from "../lower/view.js";
import type { ConvGeom } from "../ops/convGeom.js";
import { vector, type LaneEpilogue } from "./matmul.js";
import { f32x4const, Func, i32x4const, lane, mem, op, v128zero, type Ins } from "./module.js";
import { Nest, zeroFill } from "./nest.js";

export interface SimdConv {
  kind: "conv";
  mode: "forward" | "input-grad" | "weight-grad";
  geom: ConvGeom;
  /** forward: x and W; input grad: dZ and W; weight grad: dZ and x (contiguous). */
  a: View;
  b: View;
  /** forward only: the rest of the output's equation (bias, activation), applied as each vector is stored. */
  epilogue?: LaneEpilogue;
}

/** The plan, or undefined when the layout does not suit four lanes along the rows. */
export function planConv(mode: SimdConv["mode"], geom: ConvGeom, a: View, b: View): SimdConv | undefined {
  if (geom.sw !== 1 || geom.OW < 4 || !isContiguous(a) || !isContiguous(b)) return undefined;
  return { kind: "conv", mode, geom, a, b };
}

export const convReads = (p: SimdConv): string[] => [p.a.base, p.b.base, ...(p.epilogue?.leaves.map((v) => v.base) ?? [])];

/** An epilogue fits the forward kernel when each leaf is contiguous or broadcast along the rows. */
export const convEpilogueFits = (p: SimdConv, leaves: readonly View[]): boolean => p.mode === "forward" && leaves.every((v) => [0, 1].includes(v.strides[v.strides.length - 1]!));

export const convHow = (p: SimdConv): string =>
  p.mode === "forward"
    ? "implicit GEMM, blocks of 4 channels × 8 columns, f32x4 along the rows"
    : p.mode === "input-grad"
      ? "a scatter, blocks of 4 channels × 8 columns, f32x4 along the rows"
      : "blocks of 4 channels × 2 kernel columns, f32x4 along the rows";

/** Rows (output channels) in blocks of 4, then one block of the rest: `body(R)` with R rows. */
function rowBlocks(nest: Nest, count: number, step: (rows: number) => Record<string, number>, body: (R: number) => void): void {
  const full = Math.floor(count / 4);
  nest.level("co", full, step(4), () => body(4));
  if (count % 4) nest.level("cr", 1, {}, () => body(count % 4), step(full * 4));
}

/** Column blocks along a row of OW: [first column, vectors per block (at most `widest`), blocks, tail mask (lanes already done are 0)]. */
function columnBlocks(OW: number, widest = 2): [number, number, number, Ins | undefined][] {
  const rem = OW % 4;
  const mask = rem ? i32x4const([0, 1, 2, 3].map((l) => (l < 4 - rem ? 0 : -1)) as [number, number, number, number]) : undefined;
  if (widest === 1) return [[0, 1, Math.floor(OW / 4), undefined], [OW - 4, 1, rem ? 1 : 0, mask]];
  return [
    [0, 2, Math.floor(OW / 8), undefined],
    [8 * Math.floor(OW / 8), 1, OW % 8 >= 4 ? 1 : 0, undefined],
    [OW - 4, 1, rem ? 1 : 0, mask],
  ];
}

/** The kernel as a function named `name`; `addr(base)` is a buffer's arena byte offset, `out` the output's. */
export function simdConvFunc(name: string, p: SimdConv, addr: (base: string) => number, out: number): Func {
  const f = new Func(name);
  const G = p.geom;
  const A = addr(p.a.base) + p.a.offset * 4;
  const B = addr(p.b.base) + p.b.offset * 4;
  const K = G.Cg * G.KH * G.KW;
  const [XN, XC, XH] = [G.C * G.H * G.W * 4, G.H * G.W * 4, G.W * 4];
  const [ZN, ZO, ZH] = [G.O * G.OH * G.OW * 4, G.OH * G.OW * 4, G.OW * 4];
  const v = (nm: string) => f.local(nm, "v128");
  const fma = (acc: string, x: Ins, y: Ins) => f.set(acc, op("f32x4.add", f.get(acc), op("f32x4.mul", x, y)));
  const math = { forward: `Z = X ⋆ W${p.epilogue ? ", then the rest of the equation in lanes" : ""}`, "input-grad": "dX = conv_transpose(dZ, W)", "weight-grad": "dW = dZ ⋆ X" }[p.mode];
  f.comment(`${math}: X [${G.N}, ${G.C}, ${G.H}, ${G.W}], W [${G.O}, ${G.Cg}, ${G.KH}, ${G.KW}], Z [${G.N}, ${G.O}, ${G.OH}, ${G.OW}], ${G.G} group(s), stride ${G.sh}×${G.sw}, dilation ${G.dh}×${G.dw}`);
  f.comment(`${p.a.base} at byte ${A}, ${p.b.base} at byte ${B}, output at byte ${out}`);

  if (p.mode === "forward") {
    // pointers: x, W, Z and one per epilogue leaf
    const leaves = (p.epilogue?.leaves ?? []).map((l, i) => ({ name: `l${i}`, at: addr(l.base) + l.offset * 4, s: l.strides.map((d) => d * 4), sj: l.strides[l.strides.length - 1]! }));
    const nest = new Nest(f, ["x", "w", "z", ...leaves.map((l) => l.name)]);
    const leafStep = (axis: "n" | "o" | "h" | "w", times: number) => Object.fromEntries(leaves.map((l) => [l.name, times * l.s[axis === "n" ? 0 : axis === "o" ? 1 : axis === "h" ? l.s.length - 2 : l.s.length - 1]!]));
    nest.level("cn", G.N, { x: XN, z: ZN, ...leafStep("n", 1) }, () =>
      nest.level("cg", G.G, { x: G.Cg * XC, w: G.Og * K * 4, z: G.Og * ZO, ...leafStep("o", G.Og) }, () =>
        rowBlocks(nest, G.Og, (R) => ({ w: R * K * 4, z: R * ZO, ...leafStep("o", R) }), (R) =>
          nest.level("ch", G.OH, { x: G.sh * XH, z: ZH, ...(G.k === 2 ? leafStep("h", 1) : {}) }, () => {
            for (const [col, V, count] of columnBlocks(G.OW)) {
              const colStep = (c: number) => ({ x: c * 4, z: c * 4, ...leafStep("w", c) });
              nest.level(V === 2 ? "cj" : "ck", count, colStep(V * 4), () => {
                for (let r = 0; r < R; r++) for (let j = 0; j < V; j++) f.set(v(`acc${r}${j}`), v128zero());
                // one tap (c, kh, kw) per iteration of the innermost loop, never unrolled (see the trap above)
                const tap = () => {
                  for (let r = 0; r < R; r++) f.set(v(`a${r}`), mem("v128.load32_splat", B + r * K * 4, nest.get("w")));
                  for (let j = 0; j < V; j++) f.set(v(`b${j}`), mem("v128.load", A + j * 16, nest.get("x")));
                  for (let r = 0; r < R; r++) for (let j = 0; j < V; j++) fma(`acc${r}${j}`, f.get(`a${r}`), f.get(`b${j}`));
                };
                nest.level("cc", G.Cg, { x: XC, w: G.KH * G.KW * 4 }, () => nest.level("cq", G.KH, { x: G.dh * XH, w: G.KW * 4 }, () => nest.level("cw", G.KW, { x: G.dw * 4, w: 4 }, tap)));
                for (let r = 0; r < R; r++)
                  for (let j = 0; j < V; j++) {
                    const value = p.epilogue
                      ? p.epilogue.build(vector, f.get(`acc${r}${j}`), (i) => {
                          const l = leaves[i]!;
                          const at = l.at + r * l.s[1]! + j * 4 * l.s[l.s.length - 1]!;
                          return l.sj ? mem("v128.load", at, nest.get(l.name)) : mem("v128.load32_splat", at, nest.get(l.name));
                        })
                      : f.get(`acc${r}${j}`);
                    f.emit(mem("v128.store", out + r * ZO + j * 16, nest.get("z"), value));
                  }
              }, colStep(col));
            }
          }),
        ),
      ),
    );
  } else if (p.mode === "input-grad") {
    // dX = 0, then the scatter
    zeroFill(f, out, G.N * G.C * G.H * G.W);
    const nest = new Nest(f, ["x", "w", "z"]);
    nest.level("cn", G.N, { x: XN, z: ZN }, () =>
      nest.level("cg", G.G, { x: G.Cg * XC, w: G.Og * K * 4, z: G.Og * ZO }, () =>
        rowBlocks(nest, G.Og, (R) => ({ w: R * K * 4, z: R * ZO }), (R) =>
          nest.level("ch", G.OH, { x: G.sh * XH, z: ZH }, () => {
            for (const [col, V, count, mask] of columnBlocks(G.OW)) {
              nest.level(V === 2 ? "cj" : "ck", count, { x: V * 16, z: V * 16 }, () => {
                for (let r = 0; r < R; r++) for (let j = 0; j < V; j++) f.set(v(`g${r}${j}`), mem("v128.load", A + r * ZO + j * 16, nest.get("z")));
                nest.level("cw", G.KW, { x: G.dw * 4, w: 4 }, () =>
                  nest.level("cc", G.Cg, { x: XC, w: G.KH * G.KW * 4 }, () =>
                    nest.level("cq", G.KH, { x: G.dh * XH, w: G.KW * 4 }, () => {
                      for (let r = 0; r < R; r++) f.set(v(`a${r}`), mem("v128.load32_splat", B + r * K * 4, nest.get("w")));
                      for (let j = 0; j < V; j++) {
                        let sum = op("f32x4.mul", f.get("a0"), f.get(`g0${j}`));
                        for (let r = 1; r < R; r++) sum = op("f32x4.add", sum, op("f32x4.mul", f.get(`a${r}`), f.get(`g${r}${j}`)));
                        if (mask) sum = op("v128.and", sum, mask);
                        const at = out + j * 16;
                        f.emit(mem("v128.store", at, nest.get("x"), op("f32x4.add", mem("v128.load", at, nest.get("x")), sum)));
                      }
                    }, {}, G.KH <= 8),
                  ),
                );
              }, { x: col * 4, z: col * 4 });
            }
          }),
        ),
      ),
    );
  } else {
    // dW[o, c, kh, kw] = Σ_{n, oh, ow} dZ[n, o, oh, ow] · x[n, g·Cg + c, oh·sh + kh·dh, ow + kw·dw]: dW = 0, then for each
    // chunk of nb samples (four channels of its dZ, about 16 KiB, stay in the L1 cache across all of (c, kh, kw)) dW += its sum
    zeroFill(f, out, G.O * K);
    const nb = Math.max(1, Math.min(G.N, Math.floor(16384 / (16 * G.OH * G.OW))));
    const nest = new Nest(f, ["x", "w", "z"]);
    const chunk = (samples: number) =>
      nest.level("cg", G.G, { x: G.Cg * XC, w: G.Og * K * 4, z: G.Og * ZO }, () =>
        rowBlocks(nest, G.Og, (R) => ({ w: R * K * 4, z: R * ZO }), (R) =>
          nest.level("cc", G.Cg, { x: XC, w: G.KH * G.KW * 4 }, () =>
            nest.level("cq", G.KH, { x: G.dh * XH, w: G.KW * 4 }, () => {
              for (let k0 = 0; k0 < G.KW; k0 += 2) {
                const J = Math.min(2, G.KW - k0);
                f.comment(`kernel columns ${k0}${J > 1 ? `…${k0 + 1}` : ""}`);
                for (let r = 0; r < R; r++) for (let j = 0; j < J; j++) f.set(v(`acc${r}${j}`), v128zero());
                nest.level("cn", samples, { x: XN, z: ZN }, () =>
                  nest.level("ch", G.OH, { x: G.sh * XH, z: ZH }, () => {
                    for (const [col, V, count, mask] of columnBlocks(G.OW, 1))
                      nest.level(V === 2 ? "cj" : "ck", count, { x: V * 16, z: V * 16 }, () => {
                        for (let t = 0; t < V; t++) {
                          for (let r = 0; r < R; r++) f.set(v(`g${r}`), mem("v128.load", A + r * ZO + t * 16, nest.get("z")));
                          for (let j = 0; j < J; j++) f.set(v(`b${j}`), mem("v128.load", B + ((k0 + j) * G.dw + t * 4) * 4, nest.get("x")));
                          for (let r = 0; r < R; r++)
                            for (let j = 0; j < J; j++) {
                              const prod = op("f32x4.mul", f.get(`g${r}`), f.get(`b${j}`));
                              f.set(`acc${r}${j}`, op("f32x4.add", f.get(`acc${r}${j}`), mask ? op("v128.and", prod, mask) : prod));
                            }
                        }
                      }, { x: col * 4, z: col * 4 });
                  }),
                );
                for (let r = 0; r < R; r++)
                  for (let j = 0; j < J; j++) {
                    const a = (i: number) => lane(i, f.get(`acc${r}${j}`));
                    const at = out + (r * K + k0 + j) * 4;
                    const sum = op("f32.add", op("f32.add", a(0), a(1)), op("f32.add", a(2), a(3)));
                    f.emit(mem("f32.store", at, nest.get("w"), op("f32.add", mem("f32.load", at, nest.get("w")), sum)));
                  }
              }
            }),
          ),
        ),
      );
    const chunks = Math.floor(G.N / nb);
    nest.level("cb", chunks, { x: nb * XN, z: nb * ZN }, () => chunk(nb));
    if (G.N % nb) nest.level("cm", 1, {}, () => chunk(G.N % nb), { x: chunks * nb * XN, z: chunks * nb * ZN });
  }
  return f;
}
