/**
 * The gradient check, as the project's tests and `flatgrad verify` run it: central finite
 * differences in float64 (h = 1e-5), an element passing when |analytic − numeric| ≤ 1e-8 +
 * 1e-6·|numeric|. Two checks: the param gradients of a generated module (`lossAndGrad`), and the
 * tensors of every `g.grad` call (by the float64 interpreter, which evaluates them as IR).
 */
import type { Node } from "../ir/graph.js";
import { size } from "../ir/shape.js";
import { evaluate, type Values } from "../interp/interp.js";
import type { GradCall } from "../dsl/grad.js";
import type { Site } from "../ir/shape.js";

/** The step and the tolerance every gradient check in the project uses. */
export const GRADCHECK = { h: 1e-5, abs: 1e-8, rel: 1e-6 } as const;

/** |a − n| / (|n| + abs/rel): ≤ rel exactly when the element passes (|a − n| ≤ abs + rel·|n|). NaN never passes. */
export const relErr = (analytic: number, numeric: number): number => {
  const e = Math.abs(analytic - numeric) / (Math.abs(numeric) + GRADCHECK.abs / GRADCHECK.rel);
  return Number.isNaN(e) ? Infinity : e;
};
export const passes = (analytic: number, numeric: number): boolean => Math.abs(analytic - numeric) <= GRADCHECK.abs + GRADCHECK.rel * Math.abs(numeric);

/** Where test values come from: any sign away from 0, positive, in (0, 1), or a probability away from 0 and 1. */
export type Domain = "any" | "positive" | "unit" | "prob";
export function sample(domain: Domain, rand: () => number): number {
  switch (domain) {
    case "positive":
      return 0.5 + 1.5 * rand();
    case "unit":
      return rand();
    case "prob":
      return 0.1 + 0.8 * rand();
    default:
      return (rand() < 0.5 ? -1 : 1) * (0.2 + 1.3 * rand());
  }
}

/** What an input's values are drawn from: floats in [−1, 1]; int32 inputs in [lo, hi) (an op that takes them may declare the range on the input node). */
export function inputRange(n: Node): [number, number] | undefined {
  if (n.dtype !== "int32") return undefined;
  const r = n.attrs.range as [number, number] | undefined;
  return r ?? [0, 2];
}

/** Seeded values for every input of a graph: int32 inputs within `inputRange`, floats uniform in [−1, 1]. */
export function inputValues(inputs: ReadonlyMap<string, Node>, rand: () => number, range = inputRange): Record<string, Float64Array | Int32Array> {
  const out: Record<string, Float64Array | Int32Array> = {};
  for (const [name, n] of inputs) {
    const r = range(n);
    out[name] = r ? Int32Array.from({ length: size(n.shape) }, () => r[0] + Math.floor(rand() * (r[1] - r[0]))) : Float64Array.from({ length: size(n.shape) }, () => rand() * 2 - 1);
  }
  return out;
}

/** mulberry32 (as examples/data.ts and the generated modules): uniform in [0, 1), the same sequence everywhere for a seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One checked tensor: its largest relative error (see `relErr`) over the elements checked. */
export interface CheckRow {
  tensor: string;
  /** The model-file line of the g.grad call (grad rows). */
  site?: Site;
  checked: number;
  total: number;
  maxRelErr: number;
  /** The worst element: index, analytic and numeric values. */
  worst: { index: number; analytic: number; numeric: number };
  pass: boolean;
}

/** Up to `samples` element indices of an n-element tensor (all when n ≤ samples or samples is 0), seeded. */
export function pickElements(n: number, samples: number, rand: () => number): number[] {
  if (samples <= 0 || n <= samples) return Array.from({ length: n }, (_, i) => i);
  const picked = new Set<number>();
  while (picked.size < samples) picked.add(Math.floor(rand() * n));
  return [...picked].sort((a, b) => a - b);
}

function row(tensor: string, total: number, results: { index: number; analytic: number; numeric: number }[]): CheckRow {
  let worst = results[0] ?? { index: -1, analytic: 0, numeric: 0 };
  for (const r of results) if (relErr(r.analytic, r.numeric) > relErr(worst.analytic, worst.numeric)) worst = r;
  return { tensor, checked: results.length, total, maxRelErr: results.length ? relErr(worst.analytic, worst.numeric) : 0, worst, pass: results.every((r) => passes(r.analytic, r.numeric)) };
}

/** What the check needs of a generated module's model. */
export interface CheckableModel {
  params: Record<string, Float32Array | Float64Array>;
  grads: Record<string, Float32Array | Float64Array>;
  lossAndGrad(inputs: Record<string, Float64Array | Float32Array | Int32Array>): number;
}

/**
 * `m` with its training randomness held fixed: each `lossAndGrad` runs on a fresh model from `make` (the
 * same seed, so its generator draws the same first dropout mask every time) with `m`'s params and buffers
 * copied in, and copies its grads back into `m.grads`. Central differences of a model that draws a new
 * mask per call would compare losses under different masks.
 */
export function withFixedRandomness<M extends CheckableModel & { buffers: Record<string, Float32Array | Float64Array> }>(m: M, make: () => M): CheckableModel {
  const copy = (from: Record<string, Float32Array | Float64Array>, to: Record<string, Float32Array | Float64Array>) => {
    for (const [k, v] of Object.entries(from)) to[k]!.set(v);
  };
  return {
    params: m.params,
    grads: m.grads,
    lossAndGrad(inputs) {
      const fresh = make();
      copy(m.params, fresh.params);
      copy(m.buffers, fresh.buffers);
      const loss = fresh.lossAndGrad(inputs);
      copy(fresh.grads, m.grads);
      return loss;
    },
  };
}

/** dL/dp of `lossAndGrad` against central differences of its loss, for `samples` elements of every param (restored after). */
export function checkParamGradients(m: CheckableModel, inputs: Record<string, Float64Array | Float32Array | Int32Array>, samples: number, rand: () => number): CheckRow[] {
  m.lossAndGrad(inputs);
  const grads = Object.fromEntries(Object.entries(m.grads).map(([k, v]) => [k, Float64Array.from(v)]));
  return Object.entries(m.params).map(([name, p]) => {
    const results = pickElements(p.length, samples, rand).map((i) => {
      const v = p[i]!;
      p[i] = v + GRADCHECK.h;
      const up = m.lossAndGrad(inputs);
      p[i] = v - GRADCHECK.h;
      const down = m.lossAndGrad(inputs);
      p[i] = v;
      return { index: i, analytic: grads[name]![i]!, numeric: (up - down) / (2 * GRADCHECK.h) };
    });
    return row(name, p.length, results);
  });
}

/**
 * Each tensor of each `g.grad(y, xs)` call, evaluated by the float64 interpreter in training mode,
 * against central differences of y with that x's value moved (an intermediate x: its producers
 * held fixed, which is what ∂y/∂x means for it).
 */
export function checkGradCalls(calls: readonly GradCall[], label: (c: GradCall, i: number) => string, values: { inputs: Values; params: Values; buffers: Values }, samples: number, rand: () => number): CheckRow[] {
  const rows: CheckRow[] = [];
  const opts = { buffers: values.buffers, mode: "train" as const };
  for (const c of calls) {
    const base = evaluate([c.y, ...c.results, ...c.xs], values.inputs, values.params, opts);
    c.xs.forEach((x, k) => {
      const xv = base.get(x)!;
      const analytic = base.get(c.results[k]!)!;
      const yAt = (i: number, v: number) => {
        const moved = Float64Array.from(xv);
        moved[i] = v;
        return evaluate([c.y], values.inputs, values.params, { ...opts, given: new Map([[x, moved]]) }).get(c.y)![0]!;
      };
      const results = pickElements(xv.length, samples, rand).map((i) => ({ index: i, analytic: analytic[i]!, numeric: (yAt(i, xv[i]! + GRADCHECK.h) - yAt(i, xv[i]! - GRADCHECK.h)) / (2 * GRADCHECK.h) }));
      rows.push({ ...row(label(c, k), xv.length, results), ...(c.site && { site: c.site }) });
    });
  }
  return rows;
}
