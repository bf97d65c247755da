/**
 * Dropout's mask: each element 0 with probability p, else 1/(1 − p), drawn afresh by the kernel on
 * every training call from the model's own generator (seeded by createModel({ seed })), so the
 * backward of that call reads the same mask as its forward. `id` tells two masks of the same shape
 * apart (nodes are interned). The reference interpreter draws from a generator seeded by `id`
 * instead: the same mask on every evaluation, a valid mask but not the module's.
 */
import { FlatgradError, checkShape, fmtValue, size } from "../ir/shape.js";
import type { Builder, Node, Primitive } from "./types.js";

type MaskAttrs = { shape: number[]; p: number; id: number };

/** Masks made by each model builder so far: the next mask's id. */
const made = new WeakMap<Builder, number>();

/** mulberry32, as the generated module's `prng`. */
function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const dropoutMask: Primitive<(b: Builder, shape: number[], p: number) => Node, MaskAttrs> = {
  kind: "primitive",
  doc: "a fresh random mask per training call: 0 with probability p, else 1/(1 − p)",
  call: (b, shape, p) => {
    if (typeof p !== "number" || !(p >= 0 && p < 1))
      throw new FlatgradError(`dropoutMask: p must be a probability in [0, 1), got ${fmtValue(p)}`, undefined, "FG195");
    const id = made.get(b) ?? 0;
    made.set(b, id + 1);
    return b.apply("dropoutMask", [], { shape: [...checkShape("dropoutMask", "shape", shape)], p, id });
  },
  dtype: (_ins, _attrs, float) => float,
  shape: (_ins, { shape }) => [...shape],
  eval: (_xs, _ins, { shape, p, id }) => {
    const rand = generator(0x9e3779b9 ^ id);
    return Float64Array.from({ length: size(shape) }, () => (rand() < p ? 0 : 1 / (1 - p)));
  },
  // random, not a function of anything the model trains
  vjp: () => [],
  math: (_args, { p }) => {
    const keep = Number((1 - p).toPrecision(12));
    return `bernoulli(${keep})/${keep}`;
  },
  // PyTorch's own generator draws the mask: the same distribution, not the same masks as the generated module's
  torch: (_args, { shape, p }, { dtype }) => `(torch.rand(${shape.length ? `(${shape.join(", ")},)` : "()"}, dtype=${dtype}) >= ${p}).to(${dtype}) / ${1 - p}`,
  lower: {
    kind: "kernel",
    random: true,
    emit: (w, out, _ins, { shape, p }) => {
      if (!w.random) throw new Error("internal: dropoutMask needs the model's generator (KernelWriter.random)");
      const i = w.local("i");
      w.loop(i, size(shape), () => w.line(`${out.base}[${out.offset ? `${out.offset} + ${i}` : i}] = ${w.random}() < ${p} ? 0 : ${1 / (1 - p)};`));
    },
  },
};
