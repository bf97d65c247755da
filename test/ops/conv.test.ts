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
