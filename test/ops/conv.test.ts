/**
 * The window family at work: a 2-D convolution written as pad → window → matmul and a max pool as
 * window → max, with nothing conv-specific in the compiler. Checked against direct loops, their
 * gradients against central differences of the generated float64 code, and the float32 build runs
 * the convolution's product as a WebAssembly SIMD kernel (the im2col matrix is one copy kernel).
 */
import { describe, expect, it } from "vitest";
import type { Builder } from "../../src/dsl/builder.js";
import type { Node } from "../../src/ir/graph.js";
import type { ModelDefinition } from "../../src/dsl/define.js";
import { compileAndLoad, maxRelErr, rng } from "../support/helpers.js";
import { pool2dRef } from "../support/convRef.js";

/** conv2d on NCHW with W [O, C, KH, KW], as the compiler sees it: windows of the padded input times the flattened kernel. */
function conv2d(g: Builder, x: Node, W: Node, b: Node, pad: number, stride: number): Node {
  const [N, C] = x.shape as [number, number];
  const [O, , KH, KW] = W.shape as [number, number, number, number];
  const xp = pad ? g.pad(x, [[0, 0], [0, 0], [pad, pad], [pad, pad]]) : x;
  const win = g.window(xp, [KH, KW], { stride }); // [N, C, OH, OW, KH, KW]
  const [OH, OW] = [win.shape[2]!, win.shape[3]!];
  const cols = g.reshape(g.transpose(win, [0, 2, 3, 1, 4, 5]), [N * OH * OW, C * KH * KW]);
  const z = g.linear(cols, g.reshape(W, [O, C * KH * KW]), b); // [N·OH·OW, O]
  return g.transpose(g.reshape(z, [N, OH, OW, O]), [0, 3, 1, 2]);
}

const N = 2, C = 3, H = 6, O = 4, K = 3;
const net = (dtype: "float32" | "float64"): ModelDefinition => ({
  dtype,
  build(g) {
    const x = g.input("x", [N, C, H, H]);
    const r = g.input("r", [N, O, 3, 3]);
    const W = g.param("W", [O, C, K, K], { init: "normal", std: 0.5 });
    const b = g.param("b", [O], { init: "normal", std: 0.5 });
    const a = g.relu(conv2d(g, x, W, b, 1, 1)); // [N, O, 6, 6]
    const p = g.max(g.window(a, [2, 2], { stride: 2 }), [-2, -1]); // [N, O, 3, 3]
    g.output("p", p);
    return g.sum(g.mul(p, r));
  },
});

/** The same network as direct loops (float64). */
function reference(x: Float64Array, W: Float64Array, b: Float64Array, r: Float64Array) {
  const a = new Float64Array(N * O * H * H);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++)
      for (let i = 0; i < H; i++)
        for (let j = 0; j < H; j++) {
          let s = b[o]!;
          for (let c = 0; c < C; c++)
            for (let u = 0; u < K; u++)
              for (let v = 0; v < K; v++) {
                const [y, z] = [i + u - 1, j + v - 1];
                if (y >= 0 && y < H && z >= 0 && z < H) s += x[((n * C + c) * H + y) * H + z]! * W[((o * C + c) * K + u) * K + v]!;
              }
          a[((n * O + o) * H + i) * H + j] = Math.max(s, 0);
        }
  const p = new Float64Array(N * O * 9);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++)
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 3; j++) {
          let m = -Infinity;
          for (let u = 0; u < 2; u++) for (let v = 0; v < 2; v++) m = Math.max(m, a[((n * O + o) * H + 2 * i + u) * H + 2 * j + v]!);
          p[((n * O + o) * 3 + i) * 3 + j] = m;
        }
  return { p, loss: p.reduce((s, v, i) => s + v * r[i]!, 0) };
}

describe("conv and pooling from the window family", () => {
  it("conv2d (padding 1) → relu → 2×2 max pool: outputs equal direct loops; gradients equal central differences", async () => {
    const { mod } = await compileAndLoad(net("float64"), "conv64");
    const m = mod.createModel({ seed: 5 });
    const rand = rng(11);
    const x = Float64Array.from({ length: N * C * H * H }, () => rand() * 2 - 1);
    const r = Float64Array.from({ length: N * O * 9 }, () => rand() * 2 - 1);
    const ref = reference(x, Float64Array.from(m.params.W!), Float64Array.from(m.params.b!), r);
    expect(maxRelErr(m.forward({ x, r }).p!, ref.p)).toBeLessThan(1e-13);
    expect(maxRelErr([m.lossAndGrad({ x, r })], [ref.loss])).toBeLessThan(1e-13);
    for (const name of ["W", "b"]) {
      const param = m.params[name]!;
      const grad = Float64Array.from(m.grads[name]!);
      for (let i = 0; i < param.length; i++) {
        const v = param[i]!;
        param[i] = v + 1e-6;
        const up = m.lossAndGrad({ x, r });
        param[i] = v - 1e-6;
        const down = m.lossAndGrad({ x, r });
        param[i] = v;
        const fd = (up - down) / 2e-6;
        expect(Math.abs(grad[i]! - fd), `${name}[${i}]`).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(fd));
      }
    }
  });

  it("float32: the convolution's product runs as a WebAssembly SIMD kernel and agrees with float64", async () => {
    const { mod, program, text } = await compileAndLoad(net("float32"), "conv32");
    expect(program.train.some((k) => k.simd && k.node.op !== "overlapAdd" && /cols/.test(k.comment))).toBe(true);
    // the im2col matrix is one copy kernel through the window's index map; its gradient is one overlap-add
    expect(text).toMatch(/\/\/ cols = transpose\(window\(\w+, 3×3\), \[0,2,3,1,4,5\]\) {3}\[2×6×6×3×3×3\]/);
    expect(text).toMatch(/overlap_add\(/);
    const m = mod.createModel({ seed: 5 });
    expect(m.engine).toBe("wasm-simd");
    const rand = rng(11);
    const x = Float32Array.from({ length: N * C * H * H }, () => rand() * 2 - 1);
    const r = Float32Array.from({ length: N * O * 9 }, () => rand() * 2 - 1);
    const ref = reference(Float64Array.from(x), Float64Array.from(m.params.W!), Float64Array.from(m.params.b!), Float64Array.from(r));
    expect(maxRelErr(m.forward({ x, r }).p!, ref.p, 1e-3)).toBeLessThan(1e-5);
  });
});

/**
 * The pooling sweep: maxPool2d and avgPool2d (their own kernels, not the window family) over kernels,
 * strides (stride < kernel: overlapping windows), paddings and odd sizes, each compiled into one float64
 * model whose loss is Σ pool(x) ⊙ r. Eval-mode outputs against direct loops (test/support/convRef.ts),
 * training's loss and dX against the gradient written from the definition: r scattered to each window's
 * first maximum (ties included: x on a coarse grid makes equal values in most windows), or spread as
 * r/count over the window's real cells.
 */
const POOLS: { x: number[]; k: [number, number]; s: [number, number]; p: [number, number] }[] = [
  { x: [2, 3, 6, 6], k: [2, 2], s: [2, 2], p: [0, 0] },
  { x: [1, 2, 7, 5], k: [3, 3], s: [2, 2], p: [1, 1] },
  { x: [1, 2, 5, 7], k: [2, 3], s: [1, 2], p: [1, 0] },
  { x: [2, 5, 5], k: [3, 3], s: [1, 1], p: [1, 1] },
  { x: [1, 1, 6, 7], k: [2, 2], s: [1, 1], p: [0, 0] },
  { x: [1, 2, 9, 8], k: [4, 3], s: [3, 1], p: [2, 1] },
  { x: [3, 4, 4], k: [1, 2], s: [1, 1], p: [0, 1] },
];

/** dX of Σ pool(x) ⊙ r from the definitions: the first maximum of each window gets r, or each real cell r/count. */
function poolGradRef(kind: "max" | "avg", x: Float64Array, shape: number[], k: [number, number], st: [number, number], pad: [number, number], r: Float64Array, countIncludePad: boolean) {
  const [H, W] = shape.slice(-2) as [number, number];
  const lead = shape.slice(0, -2).reduce((a, d) => a * d, 1);
  const [OH, OW] = [0, 1].map((a) => Math.floor((shape[shape.length - 2 + a]! + 2 * pad[a]! - k[a]!) / st[a]!) + 1) as [number, number];
  const dx = new Float64Array(x.length);
  for (let l = 0; l < lead; l++)
    for (let i = 0; i < OH; i++)
      for (let j = 0; j < OW; j++) {
        const cells: number[] = [];
        for (let u = 0; u < k[0]; u++)
          for (let v = 0; v < k[1]; v++) {
            const [yy, xx] = [i * st[0] - pad[0] + u, j * st[1] - pad[1] + v];
            if (yy >= 0 && yy < H && xx >= 0 && xx < W) cells.push((l * H + yy) * W + xx);
          }
        const g = r[(l * OH + i) * OW + j]!;
        if (kind === "max") {
          const first = cells.reduce((b, c) => (x[c]! > x[b]! ? c : b), cells[0]!);
          dx[first] = dx[first]! + g;
        } else for (const c of cells) dx[c] = dx[c]! + g / (countIncludePad ? k[0] * k[1] : cells.length);
      }
  return dx;
}

describe("pooling's own kernels over a sweep", () => {
  for (const kind of ["max", "avg"] as const)
    for (const countIncludePad of kind === "max" ? [true] : [true, false])
      it(`${kind}Pool2d${kind === "avg" ? ` (countIncludePad ${countIncludePad})` : ""}: eval outputs and training's dX equal direct loops, ${kind === "max" ? "ties to the first maximum" : "padding counted or not"}, overlaps adding`, async () => {
        const { mod } = await compileAndLoad(
          {
            dtype: "float64",
            build(g) {
              const terms = POOLS.map((c, i) => {
                const x = g.param(`x${i}`, c.x, { init: "zeros" });
                const y = kind === "max" ? g.maxPool2d(x, c.k, { stride: c.s, padding: c.p }) : g.avgPool2d(x, c.k, { stride: c.s, padding: c.p, countIncludePad });
                g.output(`y${i}`, y);
                return g.sum(g.mul(y, g.input(`r${i}`, [...y.shape])));
              });
              return terms.reduce((a, t) => g.add(a, t));
            },
          },
          `poolsweep-${kind}-${countIncludePad}`,
        );
        const m = mod.createModel();
        const rand = rng(kind === "max" ? 3 : countIncludePad ? 4 : 5);
        const inputs: Record<string, Float64Array> = {};
        let loss = 0;
        const refs = POOLS.map((c, i) => {
          // a coarse grid of values: windows with equal maxima (ties) are common
          const x = m.params[`x${i}`]!;
          for (let j = 0; j < x.length; j++) x[j] = Math.round(rand() * 4) / 4 - 0.5;
          const ref = pool2dRef(kind, x, c.x, c.k, c.s, c.p, countIncludePad);
          const r = Float64Array.from(ref.y, () => rand() * 2 - 1);
          inputs[`r${i}`] = r;
          loss += ref.y.reduce((a, v, o) => a + v * r[o]!, 0);
          return { y: ref.y, dx: poolGradRef(kind, Float64Array.from(x), c.x, c.k, c.s, c.p, r, countIncludePad) };
        });
        const out = m.forward(inputs);
        // the kernels multiply by 1/count where the loops divide, and add in another order: rounding apart
        refs.forEach((ref, i) => expect(maxRelErr(out[`y${i}`]!, ref.y), `y${i}`).toBeLessThan(1e-13));
        expect(maxRelErr([m.lossAndGrad(inputs)], [loss])).toBeLessThan(1e-13);
        refs.forEach((ref, i) => expect(maxRelErr(m.grads[`x${i}`]!, ref.dx), `dx${i}`).toBeLessThan(1e-13));
      });
});
