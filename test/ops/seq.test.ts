/**
 * The sequence ops of issue 13 against PyTorch 1.13 (test/fixtures/torch/seq.json, made by
 * make_seq.py beside it) and against hand-written float64 references of PyTorch's published
 * equations (test/support/seq.refs.ts): the generated float64 code's outputs and the gradients of
 * ⟨out, r⟩, for gelu (both forms), erf, silu, layer norm, attention with and without the causal
 * mask (Lq = Lk, Lq > Lk, Lq < Lk), LSTM and GRU cells with and without biases, concat and stack.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Builder } from "../../src/dsl/builder.js";
import type { Node } from "../../src/ir/graph.js";
import { erf64 } from "../../src/ops/erf.js";
import { compileAndLoad, maxRelErr, rng, ROOT, scaledErr } from "../support/helpers.js";
import { attentionRef, erfRef, geluRef, gruRef, lstmRef } from "../support/seq.refs.js";

interface Tensor { shape: number[]; values: number[] }
interface Case { name: string; tensors: Record<string, Tensor>; outputs: Record<string, Tensor & { r: number[] }>; grads: Record<string, number[]> }
const fixture = JSON.parse(readFileSync(path.join(ROOT, "test/fixtures/torch/seq.json"), "utf8")) as { grid: Record<string, number[]>; cases: Case[] };

/** Each fixture case as flatgrad ops over its tensors (declared as params, so that they get gradients). */
const build: Record<string, (g: Builder, t: Record<string, Node>) => Record<string, Node>> = {
  gelu: (g, { x }) => ({ out: g.gelu(g.mul(x!, 3)) }),
  geluTanh: (g, { x }) => ({ out: g.gelu(g.mul(x!, 3), "tanh") }),
  silu: (g, { x }) => ({ out: g.silu(g.mul(x!, 3)) }),
  erf: (g, { x }) => ({ out: g.erf(g.mul(x!, 2)) }),
  layerNorm: (g, { x, weight, bias }) => ({ out: g.layerNorm(x!, weight, bias) }),
  layerNorm2: (g, { x, weight }) => ({ out: g.layerNorm(x!, weight, undefined, { dims: 2, eps: 1e-3 }) }),
  attention: (g, { q, k, v }) => ({ out: g.scaledDotProductAttention(q!, k!, v!) }),
  attentionCausal: (g, { q, k, v }) => ({ out: g.scaledDotProductAttention(q!, k!, v!, { causal: true }) }),
  attentionCausalLong: (g, { q, k, v }) => ({ out: g.scaledDotProductAttention(q!, k!, v!, { causal: true, scale: 0.3 }) }),
  attentionCausalShort: (g, { q, k, v }) => ({ out: g.scaledDotProductAttention(q!, k!, v!, { causal: true }) }),
  lstmCell: (g, t) => g.lstmCell(t.x!, t.h!, t.c!, t.Wih!, t.Whh!, t.bih, t.bhh),
  lstmCellNoBias: (g, t) => g.lstmCell(t.x!, t.h!, t.c!, t.Wih!, t.Whh!),
  gruCell: (g, t) => ({ out: g.gruCell(t.x!, t.h!, t.Wih!, t.Whh!, t.bih, t.bhh) }),
  gruCellNoBias: (g, t) => ({ out: g.gruCell(t.x!, t.h!, t.Wih!, t.Whh!) }),
  concatStack: (g, { a, b }) => ({ out: g.stack([g.concat([a!, b!], -1), g.concat([b!, a!], 1)], 1) }),
};

describe("sequence ops against PyTorch 1.13 (float64)", () => {
  it("has a flatgrad model for every fixture case", () => expect(Object.keys(build).sort()).toEqual(fixture.cases.map((c) => c.name).sort()));

  it("erf is torch.erf to float64 rounding (within 2 ulp), and the series reference agrees", () => {
    const { x, erf } = fixture.grid as { x: number[]; erf: number[] };
    expect(maxRelErr(x.map(erf64), erf!, 1e-300)).toBeLessThan(4.5e-16);
    expect(maxRelErr(x.map(erfRef), erf!, 1e-300)).toBeLessThan(1e-13);
  });

  it("the generated module's erf helper (and its tail) is erf64, line for line", () => {
    const body = (file: string, head: string) => {
      const text = readFileSync(path.join(ROOT, file), "utf8");
      const start = text.indexOf(head);
      return text.slice(start + head.length, text.indexOf("\n}\n", start)).trim();
    };
    const helper = body("templates/module.ts", "function erf(x: number): number {");
    expect(helper.length).toBeGreaterThan(500);
    expect(helper).toBe(body("src/ops/erf.ts", "export function erf64(x: number): number {"));
    // the rest of the range, in a function of its own in both
    const tail = body("templates/module.ts", "function erfTail(): void {");
    expect(tail.length).toBeGreaterThan(500);
    expect(tail).toBe(body("src/ops/erf.ts", "function erfTail(): void {"));
  });

  it("gelu (erf and tanh forms), erf and silu on [−7, 7]: the generated code within 1e-7 relative of torch", async () => {
    const n = fixture.grid.x!.length;
    const { mod } = await compileAndLoad({ dtype: "float64", build(g) {
      const x = g.input("x", [n]);
      g.output("erf", g.erf(x));
      g.output("gelu", g.gelu(x));
      g.output("geluTanh", g.gelu(x, "tanh"));
      g.output("silu", g.silu(x));
    } }, "seq-grid");
    const out = mod.createModel().forward({ x: Float64Array.from(fixture.grid.x!) });
    for (const k of ["erf", "gelu", "geluTanh", "silu"]) expect(maxRelErr(out[k]!, fixture.grid[k]!, 1e-300), k).toBeLessThan(1e-7);
    // away from gelu's far tail (1 + erf(x/√2) cancels there, in PyTorch's formula as in ours) the agreement is to rounding
    const core = fixture.grid.x!.map((v, i) => [v, i] as const).filter(([v]) => v > -4).map(([, i]) => i);
    expect(maxRelErr(core.map((i) => out.gelu![i]!), core.map((i) => fixture.grid.gelu![i]!), 1e-300)).toBeLessThan(1e-12);
  });

  for (const c of fixture.cases) {
    it(`${c.name}: outputs and gradients`, async () => {
      const { mod } = await compileAndLoad({ dtype: "float64", build(g) {
        const t = Object.fromEntries(Object.entries(c.tensors).map(([k, v]) => [k, g.param(k, v.shape, { init: "zeros" })]));
        const outs = build[c.name]!(g, t);
        for (const [k, o] of Object.entries(outs)) {
          expect([...o.shape], k).toEqual(c.outputs[k]!.shape);
          g.output(k, o);
        }
        return Object.entries(outs).map(([k, o]) => g.sum(g.mul(o, g.constant(c.outputs[k]!.r, [...o.shape])))).reduce((a, b) => g.add(a, b));
      } }, `seq-torch-${c.name}`);
      const m = mod.createModel();
      for (const [k, v] of Object.entries(c.tensors)) m.params[k]!.set(v.values);
      const out = m.forward({});
      for (const [k, o] of Object.entries(c.outputs)) expect(maxRelErr(out[k]!, o.values, 1e-9), `${k}`).toBeLessThan(1e-10);
      m.lossAndGrad({});
      for (const [k, gr] of Object.entries(c.grads)) expect(maxRelErr(m.grads[k]!, gr, 1e-9), `d${k}`).toBeLessThan(1e-10);
    });
  }
});

describe("cells and attention against hand-written float64 references of PyTorch's equations", () => {
  const fill = (n: number, r: () => number) => Float64Array.from({ length: n }, () => r() * 2 - 1);

  it("an unrolled 5-step LSTM (the same weights every step) and a 5-step GRU", async () => {
    const [N, I, H, T] = [2, 3, 4, 5];
    const { mod } = await compileAndLoad({ dtype: "float64", build(g) {
      const xs = g.input("xs", [T, N, I]);
      const p = { Wih: g.param("lstm.weight_ih", [4 * H, I]), Whh: g.param("lstm.weight_hh", [4 * H, H]), bih: g.param("lstm.bias_ih", [4 * H]), bhh: g.param("lstm.bias_hh", [4 * H]) };
      const q = { Wih: g.param("gru.weight_ih", [3 * H, I]), Whh: g.param("gru.weight_hh", [3 * H, H]), bhh: g.param("gru.bias_hh", [3 * H]) };
      let s = { h: g.constant(0, [N, H]), c: g.constant(0, [N, H]) };
      let hg: Node = g.constant(0, [N, H]);
      for (let t = 0; t < T; t++) {
        const x = g.reshape(g.slice(xs, 0, t, t + 1), [N, I]);
        s = g.lstmCell(x, s.h, s.c, p.Wih, p.Whh, p.bih, p.bhh);
        hg = g.gruCell(x, hg, q.Wih, q.Whh, undefined, q.bhh);
      }
      g.output("h", s.h);
      g.output("c", s.c);
      g.output("hg", hg);
    } }, "seq-unrolled");
    const m = mod.createModel({ seed: 3 });
    const xs = fill(T * N * I, rng(5));
    const out = m.forward({ xs });
    const P = (k: string) => m.params[k]!;
    let st = { h: new Float64Array(N * H), c: new Float64Array(N * H) };
    let hg = new Float64Array(N * H);
    for (let t = 0; t < T; t++) {
      const x = xs.subarray(t * N * I, (t + 1) * N * I);
      st = lstmRef(x, st.h, st.c, P("lstm.weight_ih"), P("lstm.weight_hh"), P("lstm.bias_ih"), P("lstm.bias_hh"), N, I, H);
      hg = gruRef(x, hg, P("gru.weight_ih"), P("gru.weight_hh"), undefined, P("gru.bias_hh"), N, I, H);
    }
    expect(maxRelErr(out.h!, st.h, 1e-12)).toBeLessThan(1e-12);
    expect(maxRelErr(out.c!, st.c, 1e-12)).toBeLessThan(1e-12);
    expect(maxRelErr(out.hg!, hg, 1e-12)).toBeLessThan(1e-12);
  });

  for (const causal of [false, true])
    it(`multi-head attention ${causal ? "with" : "without"} the causal mask, heads split and merged by reshapes`, async () => {
      const [B, L, heads, dh] = [2, 6, 3, 4];
      const E = heads * dh;
      const { mod } = await compileAndLoad({ dtype: "float64", build(g) {
        const x = g.input("x", [B, L, E]);
        const split = (t: Node) => g.transpose(g.reshape(t, [B, L, heads, dh]), [0, 2, 1, 3]);
        const o = g.scaledDotProductAttention(split(x), split(g.mul(x, 0.5)), split(g.tanh(x)), { causal });
        g.output("o", g.reshape(g.transpose(o, [0, 2, 1, 3]), [B, L, E]));
      } }, `seq-mha-${causal}`);
      const x = fill(B * L * E, rng(9));
      const got = mod.createModel().forward({ x }).o!;
      // reference: per batch and head, the head's columns gathered, attention with an explicit −∞ mask
      const want = new Float64Array(B * L * E);
      for (let b = 0; b < B; b++)
        for (let h = 0; h < heads; h++) {
          const col = (f: (v: number) => number) => Float64Array.from({ length: L * dh }, (_, i) => f(x[(b * L + Math.floor(i / dh)) * E + h * dh + (i % dh)]!));
          const { O } = attentionRef(col((v) => v), col((v) => 0.5 * v), col(Math.tanh), 1, L, L, dh, dh, causal);
          for (let i = 0; i < L; i++) for (let c = 0; c < dh; c++) want[(b * L + i) * E + h * dh + c] = O[i * dh + c]!;
        }
      expect(maxRelErr(got, want, 1e-12)).toBeLessThan(1e-12);
    });

  it("gelu's reference is the erf series: PyTorch's formula 0.5·x·(1 + erf(x/√2))", () => {
    for (const v of [-3, -0.5, 0, 0.7, 2.5]) expect(Math.abs(geluRef(v) - 0.5 * v * (1 + erf64(v / Math.SQRT2)))).toBeLessThan(1e-15);
  });

  it("a transformer block (layer norm, causal multi-head attention, GELU MLP, residuals) and an LSTM step: float32 agrees with float64, and the gradient names read like the derivation", async () => {
    const [B, L, E, heads] = [2, 5, 8, 2];
    const dh = E / heads;
    const def = (dtype: "float32" | "float64") => ({ dtype, build(g: Builder) {
      const x = g.input("x", [B, L, E]);
      const y = g.input("y", [B, L, E]);
      const p = (name: string, shape: number[]) => g.param(name, shape, { init: "normal", std: 0.3 });
      const split = (t: Node) => g.transpose(g.reshape(t, [B, L, heads, dh]), [0, 2, 1, 3]);
      const h = g.layerNorm(x, p("ln1.weight", [E]), p("ln1.bias", [E]));
      const att = g.scaledDotProductAttention(split(g.linear(h, p("q.weight", [E, E]))), split(g.linear(h, p("k.weight", [E, E]))), split(g.linear(h, p("v.weight", [E, E]))), { causal: true });
      const x2 = g.add(x, g.linear(g.reshape(g.transpose(att, [0, 2, 1, 3]), [B, L, E]), p("proj.weight", [E, E])));
      const m = g.linear(g.gelu(g.linear(g.layerNorm(x2, p("ln2.weight", [E])), p("fc1.weight", [2 * E, E]), p("fc1.bias", [2 * E]))), p("fc2.weight", [E, 2 * E]));
      const s = g.lstmCell(g.reshape(g.add(x2, m), [B * L, E]), g.constant(0, [B * L, 3]), g.constant(0, [B * L, 3]), p("cell.weight_ih", [12, E]), p("cell.weight_hh", [12, 3]));
      const out = g.concat([g.reshape(g.add(x2, m), [B * L, E]), s.h, g.silu(s.c)], -1);
      g.output("out", out);
      return g.mse(g.slice(out, -1, 0, E), g.reshape(y, [B * L, E]));
    } });
    const c64 = await compileAndLoad(def("float64"), "seq-block64");
    const c32 = await compileAndLoad(def("float32"), "seq-block32");
    const [m64, m32] = [c64.mod.createModel({ seed: 1 }), c32.mod.createModel({ seed: 1 })];
    for (const k of Object.keys(m64.params)) m32.params[k]!.set(m64.params[k]!);
    const rand = rng(21);
    const x = fill(B * L * E, rand);
    const y = fill(B * L * E, rand);
    const [o64, o32] = [m64.forward({ x, y }).out!, m32.forward({ x: Float32Array.from(x), y: Float32Array.from(y) }).out!];
    expect(scaledErr(o32, o64)).toBeLessThan(1e-5);
    m64.lossAndGrad({ x, y });
    m32.lossAndGrad({ x: Float32Array.from(x), y: Float32Array.from(y) });
    for (const k of Object.keys(m64.grads)) expect(scaledErr(m32.grads[k]!, m64.grads[k]!), k).toBeLessThan(1e-4);
    // attention's backward kernels are named after the derivation (att_P, att_dP, att_rowsum, att_dS, att_dq, att_dk)
    const text = readFileSync(c32.file, "utf8");
    for (const name of ["att_P", "att_dP", "att_rowsum", "att_dS", "att_dq", "att_dk"]) expect(text, name).toMatch(new RegExp(`// ${name} = `));
    expect(text).toMatch(/\/\/ att_dS = att_P ⊙ \(att_dP − att_rowsum\)/);
    expect(text).toContain("(the loop bound is the mask)");
  });
});
