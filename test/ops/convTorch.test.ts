/**
 * conv1d, conv2d, maxPool2d and avgPool2d over a sweep of strides, paddings ("same" included, the
 * extra cell of an even kernel after), dilations, groups and odd sizes, in float64 on the generated
 * code: outputs against plain loops from the definitions (test/support/convRef.ts) and against
 * PyTorch 1.13; the gradients of sum(y ⊙ r) for x, W and b against PyTorch's autograd. Max pooling
 * over constant regions (ties) sends each window's gradient to its first maximum, as PyTorch does.
 * Fixture: test/fixtures/torch/conv.json, made by make_conv.py beside it.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compileAndLoad, maxRelErr } from "../support/helpers.js";
import { conv2dRef, pool2dRef, type ConvSpec } from "../support/convRef.js";

interface Tensor {
  shape: number[];
  data: number[];
}
interface Case {
  op: "conv1d" | "conv2d" | "maxPool2d" | "avgPool2d";
  options: Record<string, unknown>;
  kernel?: number | number[];
  ties?: boolean;
  x: Tensor;
  W?: Tensor;
  b?: number[];
  r: number[];
  y: Tensor;
  dx: number[];
  dW?: number[];
  db?: number[];
}

const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/torch/conv.json");
const { cases } = JSON.parse(readFileSync(file, "utf8")) as { cases: Case[] };
const pair = (v: unknown, d: number): [number, number] => (Array.isArray(v) ? [v[0], v[1]] : [(v as number | undefined) ?? d, (v as number | undefined) ?? d]);

/** The plain-loop output of a case (1-D as 2-D with H = 1; "same" padded as PyTorch: the extra cell after). */
function loops(c: Case): Float64Array {
  if (c.op === "maxPool2d" || c.op === "avgPool2d") {
    const k = pair(c.kernel, 1);
    return pool2dRef(c.op === "maxPool2d" ? "max" : "avg", c.x.data, c.x.shape, k, pair(c.options.stride ?? k, 1), pair(c.options.padding, 0), c.options.countIncludePad !== false).y;
  }
  const one = c.op === "conv1d";
  const xs = one ? [c.x.shape[0]!, c.x.shape[1]!, 1, c.x.shape[2]!] : c.x.shape;
  const ws = one ? [c.W!.shape[0]!, c.W!.shape[1]!, 1, c.W!.shape[2]!] : c.W!.shape;
  const lift = (v: unknown, d: number): [number, number] => (one ? [d, (v as number | undefined) ?? d] : pair(v, d));
  const dilation = lift(c.options.dilation, 1);
  let pad: ConvSpec["pad"];
  if (c.options.padding === "same") {
    const [th, tw] = [dilation[0] * (ws[2]! - 1), dilation[1] * (ws[3]! - 1)];
    pad = [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
  } else {
    const [ph, pw] = lift(c.options.padding, 0);
    pad = [ph, ph, pw, pw];
  }
  return conv2dRef(c.x.data, xs, c.W!.data, ws, c.b, { stride: lift(c.options.stride, 1), pad, dilation, groups: (c.options.groups as number | undefined) ?? 1 }).y;
}

const label = (c: Case) => `${c.op} x${JSON.stringify(c.x.shape)}${c.W ? ` W${JSON.stringify(c.W.shape)}` : ` kernel ${JSON.stringify(c.kernel)}`}${c.b ? " +b" : ""} ${JSON.stringify(c.options)}${c.ties ? " (ties)" : ""}`;

describe("conv and pooling against PyTorch (float64)", () => {
  it("the fixture covers strides, paddings, \"same\", dilations, groups, ties and every op", () => {
    const ops = new Set(cases.map((c) => c.op));
    expect([...ops].sort()).toEqual(["avgPool2d", "conv1d", "conv2d", "maxPool2d"]);
    const opts = cases.map((c) => c.options);
    expect(opts.some((o) => o.padding === "same")).toBe(true);
    expect(opts.some((o) => (o.groups as number) > 1)).toBe(true);
    expect(opts.some((o) => o.dilation !== undefined)).toBe(true);
    expect(cases.some((c) => c.ties)).toBe(true);
  });

  cases.forEach((c, ci) => {
    it(`#${ci} ${label(c)}`, async () => {
      const conv = c.op === "conv1d" || c.op === "conv2d";
      const { mod } = await compileAndLoad(
        {
          dtype: "float64",
          build(g) {
            const x = g.param("x", c.x.shape);
            const r = g.input("r", c.y.shape);
            let y;
            if (conv) {
              const W = g.param("W", c.W!.shape);
              const b = c.b ? g.param("b", [c.b.length]) : undefined;
              y = c.op === "conv1d" ? g.conv1d(x, W, b, c.options) : g.conv2d(x, W, b, c.options);
            } else y = c.op === "maxPool2d" ? g.maxPool2d(x, c.kernel!, c.options) : g.avgPool2d(x, c.kernel!, c.options);
            g.output("y", y);
            return g.sum(g.mul(y, r));
          },
        },
        `torch-${c.op}-${ci}`,
      );
      const m = mod.createModel();
      m.params.x!.set(c.x.data);
      if (c.W) m.params.W!.set(c.W.data);
      if (c.b) m.params.b!.set(c.b);
      const r = Float64Array.from(c.r);
      const y = m.forward({ r }).y!;
      expect(y.length).toBe(c.y.data.length);
      const ref = loops(c);
      expect(maxRelErr(ref, c.y.data, 1e-9), "plain loops vs PyTorch").toBeLessThan(1e-12);
      expect(maxRelErr(y, ref, 1e-9), "generated vs plain loops").toBeLessThan(1e-12);
      m.lossAndGrad({ r });
      expect(maxRelErr(m.grads.x!, c.dx, 1e-9), "dx").toBeLessThan(1e-12);
      if (c.dW) expect(maxRelErr(m.grads.W!, c.dW, 1e-9), "dW").toBeLessThan(1e-12);
      if (c.db) expect(maxRelErr(m.grads.b!, c.db, 1e-9), "db").toBeLessThan(1e-12);
      if (c.ties) {
        // each window's gradient lands on exactly one cell: as many nonzero cells as windows at most, and PyTorch's
        const nz = (a: ArrayLike<number>) => Array.from(a, (v) => (v !== 0 ? 1 : 0)).join("");
        expect(nz(m.grads.x!)).toBe(nz(c.dx));
      }
    });
  });
});
