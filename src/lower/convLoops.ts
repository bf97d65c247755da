/**
 * The convolution kernels as JavaScript loops: the fallback of the WebAssembly SIMD kernels
 * (src/wasm/conv.ts), the float64 build and the readable build. Operands are views (a transposed or
 * reshaped operand is read through its strides, never copied); the loops follow the definitions:
 *   forward      Z[n, o, oh, ow]  = Σ_{c, kh, kw} x[n, g·Cg + c, oh·sh + kh·dh, ow·sw + kw·dw] · W[o, c, kh, kw]
 *   input grad   dX[n, g·Cg + c, oh·sh + kh·dh, ow·sw + kw·dw] += W[o, c, kh, kw] · dZ[n, o, oh, ow]   (a scatter)
 *   weight grad  dW[o, c, kh, kw] = Σ_{n, oh, ow} dZ[n, o, oh, ow] · x[n, g·Cg + c, oh·sh + kh·dh, ow·sw + kw·dw]
 * with g = ⌊o / Og⌋. A loop of one iteration is not written (its index is 0). Except in the readable
 * build, output channels go 4 at a time: four accumulators (or four dZ values) share each read.
 */
import { size } from "../ir/shape.js";
import type { ConvGeom } from "../ops/convGeom.js";
import { affine, at, read, type Epilogue, type KernelWriter, type View } from "./view.js";

type Body = (v: string) => void;

/** `v·s + w·d` as an index expression, folded where a term is 0 or a factor 1. */
function term(v: string, s: number, w: string, d: number): string {
  const part = (x: string, f: number) => (x === "0" ? "" : f === 1 ? x : `${x} * ${f}`);
  return [part(v, s), part(w, d)].filter(Boolean).join(" + ") || "0";
}

/** `base + k`, folded when `base` is a literal. */
const plus = (base: string, k: number) => (k === 0 ? base : /^\d+$/.test(base) ? String(Number(base) + k) : `${base} + ${k}`);

/** Output channels per block: the fast loops keep 4 accumulators (each read of x or dZ used 4 times); the readable build 1. */
const ROWS = 4;

function writer(w: KernelWriter) {
  const loop = (name: string, extent: number, body: Body) => {
    if (extent === 1) return body("0");
    const v = w.local(name);
    w.loop(v, extent, () => body(v));
  };
  /** The channel of group g, `g·per + i`. */
  const chan = (g: string, per: number, i: string) => (g === "0" ? i : i === "0" ? `${g} * ${per}` : `${g} * ${per} + ${i}`);
  /** Channels 0…count−1 in blocks of R (4, or 1 in the readable build), then one block of the rest: `body(first, R)`. */
  const blocks = (name: string, count: number, body: (first: string, R: number) => void) => {
    const R = w.readable ? 1 : ROWS;
    if (R === 1) return loop(name, count, (o) => body(o, 1));
    const full = count - (count % R);
    if (full === R) w.block("", () => body("0", R));
    else if (full > 0) {
      const v = w.local(name);
      w.block(`for (let ${v} = 0; ${v} < ${full}; ${v} += ${R})`, () => body(v, R));
    }
    if (count % R) w.block("", () => body(String(full), count % R));
  };
  return { loop, chan, blocks };
}
const rows = (R: number) => Array.from({ length: R }, (_, r) => r);

/** Indices of a 1-D or 2-D operand: [a, b, h, w] or [a, b, w]. */
const idx = (G: ConvGeom, a: string, b: string, h: string, wv: string) => (G.k === 1 ? [a, b, wv] : [a, b, h, wv]);

/** Z = x ⋆ W, each element through `epilogue` (the fused bias and activation) as it is stored. */
export function emitConvForward(w: KernelWriter, G: ConvGeom, out: View, x: View, W: View, epilogue: Epilogue = (acc) => acc): void {
  const { loop, chan, blocks } = writer(w);
  loop("n", G.N, (n) =>
    loop("g", G.G, (g) =>
      blocks("o", G.Og, (o0, R) =>
        loop("oh", G.OH, (oh) =>
          loop("ow", G.OW, (ow) => {
            const o = (r: number) => plus(chan(g, G.Og, o0), r);
            const acc = rows(R).map((r) => w.local(`acc${R > 1 ? r : ""}`));
            w.line(`let ${acc.map((a) => `${a} = 0`).join(", ")};`);
            loop("c", G.Cg, (c) =>
              loop("kh", G.KH, (kh) =>
                loop("kw", G.KW, (kw) => {
                  const xi = read(x, idx(G, n, chan(g, G.Cg, c), term(oh, G.sh, kh, G.dh), term(ow, G.sw, kw, G.dw)));
                  if (R === 1) return w.line(`${acc[0]} += ${xi} * ${read(W, idx(G, o(0), c, kh, kw))};`);
                  const xv = w.local("xv");
                  w.line(`const ${xv} = ${xi};`);
                  for (const r of rows(R)) w.line(`${acc[r]} += ${xv} * ${read(W, idx(G, o(r), c, kh, kw))};`);
                }),
              ),
            );
            for (const r of rows(R)) {
              const vars = idx(G, n, o(r), oh, ow);
              w.line(`${at(out, vars)} = ${epilogue(acc[r]!, vars)};`);
            }
          }),
        ),
      ),
    ),
  );
}

/** dX = conv_transpose(dZ, W): zero, then each dZ element times the kernel added where its window read x. */
export function emitConvInputGrad(w: KernelWriter, G: ConvGeom, out: View, dZ: View, W: View): void {
  const { loop, chan, blocks } = writer(w);
  const i = w.local("i");
  w.loop(i, size(out.shape), () => w.line(`${out.base}[${affine(out.offset, [i], [1])}] = 0;`));
  loop("n", G.N, (n) =>
    loop("g", G.G, (g) =>
      blocks("o", G.Og, (o0, R) =>
        loop("oh", G.OH, (oh) =>
          loop("ow", G.OW, (ow) => {
            const o = (r: number) => plus(chan(g, G.Og, o0), r);
            const d = rows(R).map((r) => w.local(`d${R > 1 ? r : ""}`));
            for (const r of rows(R)) w.line(`const ${d[r]} = ${read(dZ, idx(G, n, o(r), oh, ow))};`);
            loop("c", G.Cg, (c) =>
              loop("kh", G.KH, (kh) =>
                loop("kw", G.KW, (kw) => {
                  const xi = idx(G, n, chan(g, G.Cg, c), term(oh, G.sh, kh, G.dh), term(ow, G.sw, kw, G.dw));
                  w.line(`${at(out, xi)}! += ${rows(R).map((r) => `${read(W, idx(G, o(r), c, kh, kw))} * ${d[r]}`).join(" + ")};`);
                }),
              ),
            );
          }),
        ),
      ),
    ),
  );
}

/** dW = dZ ⋆ x: for each kernel element, the sum over the batch and the output positions. */
export function emitConvWeightGrad(w: KernelWriter, G: ConvGeom, out: View, dZ: View, x: View): void {
  const { loop, chan, blocks } = writer(w);
  loop("g", G.G, (g) =>
    blocks("o", G.Og, (o0, R) =>
      loop("c", G.Cg, (c) =>
        loop("kh", G.KH, (kh) =>
          loop("kw", G.KW, (kw) => {
            const o = (r: number) => plus(chan(g, G.Og, o0), r);
            const acc = rows(R).map((r) => w.local(`acc${R > 1 ? r : ""}`));
            w.line(`let ${acc.map((a) => `${a} = 0`).join(", ")};`);
            loop("n", G.N, (n) =>
              loop("oh", G.OH, (oh) =>
                loop("ow", G.OW, (ow) => {
                  const xi = read(x, idx(G, n, chan(g, G.Cg, c), term(oh, G.sh, kh, G.dh), term(ow, G.sw, kw, G.dw)));
                  if (R === 1) return w.line(`${acc[0]} += ${read(dZ, idx(G, n, o(0), oh, ow))} * ${xi};`);
                  const xv = w.local("xv");
                  w.line(`const ${xv} = ${xi};`);
                  for (const r of rows(R)) w.line(`${acc[r]} += ${read(dZ, idx(G, n, o(r), oh, ow))} * ${xv};`);
                }),
              ),
            );
            for (const r of rows(R)) w.line(`${at(out, idx(G, o(r), c, kh, kw))} = ${acc[r]};`);
          }),
        ),
      ),
    ),
  );
}
