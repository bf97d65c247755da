/**
 * The convolution kernels as JavaScript loops: the fallback of the WebAssembly SIMD kernels
 * (src/wasm/conv.ts), the float64 build and the readable build. Operands are views (a transposed or
 * reshaped operand is read through its strides, never copied); the loops follow the definitions:
 *   forward      Z[n, o, oh, ow]  = Σ_{c, kh, kw} x[n, g·Cg + c, oh·sh + kh·dh, ow·sw + kw·dw] · W[o, c, kh, kw]
 *   input grad   dX[n, g·Cg + c, oh·sh + kh·dh, ow·sw + kw·dw] += W[o, c, kh, kw] · dZ[n, o, oh, ow]   (a scatter)
 *   weight grad  dW[o, c, kh, kw] = Σ_{n, oh, ow} dZ[n, o, oh, ow] · x[n, g·Cg + c, oh·sh + kh·dh, ow·sw + kw·dw]
 * with g = ⌊o / Og⌋. A loop of one iteration is not written (its index is 0).
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

function writer(w: KernelWriter) {
  const loop = (name: string, extent: number, body: Body) => {
    if (extent === 1) return body("0");
    const v = w.local(name);
    w.loop(v, extent, () => body(v));
  };
  /** The channel of group g, `g·per + i`. */
  const chan = (g: string, per: number, i: string) => (g === "0" ? i : i === "0" ? `${g} * ${per}` : `${g} * ${per} + ${i}`);
  return { loop, chan };
}

/** Indices of a 1-D or 2-D operand: [a, b, h, w] or [a, b, w]. */
const idx = (G: ConvGeom, a: string, b: string, h: string, wv: string) => (G.k === 1 ? [a, b, wv] : [a, b, h, wv]);

/** Z = x ⋆ W, each element through `epilogue` (the fused bias and activation) as it is stored. */
export function emitConvForward(w: KernelWriter, G: ConvGeom, out: View, x: View, W: View, epilogue: Epilogue = (acc) => acc): void {
  const { loop, chan } = writer(w);
  loop("n", G.N, (n) =>
    loop("g", G.G, (g) =>
      loop("o", G.Og, (o0) =>
        loop("oh", G.OH, (oh) =>
          loop("ow", G.OW, (ow) => {
            const o = chan(g, G.Og, o0);
            const acc = w.local("acc");
            w.line(`let ${acc} = 0;`);
            loop("c", G.Cg, (c) =>
              loop("kh", G.KH, (kh) =>
                loop("kw", G.KW, (kw) => {
                  const xi = idx(G, n, chan(g, G.Cg, c), term(oh, G.sh, kh, G.dh), term(ow, G.sw, kw, G.dw));
                  w.line(`${acc} += ${read(x, xi)} * ${read(W, idx(G, o, c, kh, kw))};`);
                }),
              ),
            );
            const vars = idx(G, n, o, oh, ow);
            w.line(`${at(out, vars)} = ${epilogue(acc, vars)};`);
          }),
        ),
      ),
    ),
  );
}

/** dX = conv_transpose(dZ, W): zero, then each dZ element times the kernel added where its window read x. */
export function emitConvInputGrad(w: KernelWriter, G: ConvGeom, out: View, dZ: View, W: View): void {
  const { loop, chan } = writer(w);
  const i = w.local("i");
  w.loop(i, size(out.shape), () => w.line(`${out.base}[${affine(out.offset, [i], [1])}] = 0;`));
  loop("n", G.N, (n) =>
    loop("g", G.G, (g) =>
      loop("o", G.Og, (o0) =>
        loop("oh", G.OH, (oh) =>
          loop("ow", G.OW, (ow) => {
            const o = chan(g, G.Og, o0);
            const d = w.local("d");
            w.line(`const ${d} = ${read(dZ, idx(G, n, o, oh, ow))};`);
            loop("c", G.Cg, (c) =>
              loop("kh", G.KH, (kh) =>
                loop("kw", G.KW, (kw) => {
                  const xi = idx(G, n, chan(g, G.Cg, c), term(oh, G.sh, kh, G.dh), term(ow, G.sw, kw, G.dw));
                  w.line(`${at(out, xi)}! += ${read(W, idx(G, o, c, kh, kw))} * ${d};`);
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
  const { loop, chan } = writer(w);
  loop("g", G.G, (g) =>
    loop("o", G.Og, (o0) =>
      loop("c", G.Cg, (c) =>
        loop("kh", G.KH, (kh) =>
          loop("kw", G.KW, (kw) => {
            const o = chan(g, G.Og, o0);
            const acc = w.local("acc");
            w.line(`let ${acc} = 0;`);
            loop("n", G.N, (n) =>
              loop("oh", G.OH, (oh) =>
                loop("ow", G.OW, (ow) => {
                  const xi = idx(G, n, chan(g, G.Cg, c), term(oh, G.sh, kh, G.dh), term(ow, G.sw, kw, G.dw));
                  w.line(`${acc} += ${read(dZ, idx(G, n, o, oh, ow))} * ${read(x, xi)};`);
                }),
              ),
            );
            w.line(`${at(out, idx(G, o, c, kh, kw))} = ${acc};`);
          }),
        ),
      ),
    ),
  );
}
