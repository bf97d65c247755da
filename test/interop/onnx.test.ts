/**
 * ONNX: `export --onnx` runs in onnxruntime-node and gives the generated module's outputs; models
 * that PyTorch exported (test/fixtures/onnx, made by make_onnx.py) import, compile, give PyTorch's
 * outputs, fine-tune and export back; malformed or unsupported files are refused by name, and
 * nothing is written.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { defineModel, type ModelDefinition } from "../../src/dsl/define.js";
import { buildModel } from "../../src/front/build.js";
import { loadModelFile } from "../../src/front/load.js";
import { exportOnnx, IR_VERSION, OPSET } from "../../src/interop/onnx/export.js";
import { decode, DT, encode, tensor, valueInfo } from "../../src/interop/onnx/proto.js";
import { registry } from "../../src/ops/index.js";
import { compileAndLoad, maxRelErr, rng, ROOT, TMP, type GeneratedModule } from "../support/helpers.js";

const DIR = path.join(TMP, `onnx-${process.pid}`);
const FIXTURES = path.join(ROOT, "test/fixtures/onnx");

const cli = async (args: string[]) => {
  const err: string[] = [];
  const code = await main(args, { out: () => {}, err: (s) => void err.push(s), isTTY: false, env: { ...process.env, INIT_CWD: ROOT } });
  return { code, err: err.join("") };
};

async function run(file: string | Uint8Array, feeds: Record<string, { data: Float32Array | Float64Array | Int32Array; dims: number[] }>) {
  // our graph as written: onnxruntime's fusions (silu → QuickGelu, which has no float64 kernel) are not what is tested
  const opts = { graphOptimizationLevel: "disabled" as const };
  const session = typeof file === "string" ? await ort.InferenceSession.create(file, opts) : await ort.InferenceSession.create(file, opts);
  const t = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor(v.data instanceof Float32Array ? "float32" : v.data instanceof Int32Array ? "int32" : "float64", v.data, v.dims)]));
  const out = await session.run(t);
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array | Float64Array]));
}

const randomFeeds = (mod: GeneratedModule, seed: number, only?: string[]) => {
  const rand = rng(seed);
  const values = (n: number) => Array.from({ length: n }, () => rand() * 2 - 1);
  return Object.fromEntries(
    Object.entries(mod.spec.inputs)
      .filter(([k]) => !only || only.includes(k))
      .map(([k, s]) => {
        const n = s.reduce((a, b) => a * b, 1);
        return [k, { data: mod.spec.dtype === "float64" ? Float64Array.from(values(n)) : Float32Array.from(values(n)), dims: s }];
      }),
  );
};

beforeAll(() => mkdirSync(DIR, { recursive: true }));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

const fileDef = async (rel: string) => (await loadModelFile(path.join(ROOT, rel))).exported as ModelDefinition;

const windows = (dtype: "float32" | "float64"): ModelDefinition => ({
  dtype,
  build(g) {
    const x = g.input("x", [2, 2, 7, 6]);
    const W = g.param("conv.weight", [3, 18], { init: "he" });
    const b = g.param("conv.bias", [3], { init: "uniform" });
    const cols = g.window(g.pad(x, [[0, 0], [0, 0], [1, 1], [1, 1]], 0.25), [3, 3], { stride: 2 });
    const conv = g.relu(g.linear(g.reshape(g.transpose(cols, [0, 2, 3, 1, 4, 5]), [2, 4, 3, 18]), W, b));
    const pooled = g.max(g.window(conv, [2, 2], { dilation: [2, 1] }), [4, 5]);
    g.output("pooled", g.slice(pooled, -1, 1));
    g.output("lse", g.logSumExp(g.reshape(conv, [8, 9]), 1));
    g.output("soft", g.softmax(g.reshape(conv, [8, 9])));
  },
});

// onnxruntime has no float64 Erf kernel: the float64 model takes gelu's tanh form and no erf
const layers = (dtype: "float32" | "float64"): ModelDefinition => ({
  dtype,
  build(g) {
    const f32 = dtype === "float32";
    const ids = g.input("ids", [2, 5], { dtype: "int32" });
    const x = g.embedding(ids, g.param("emb.weight", [7, 6], { init: "normal", std: 1 }));
    const ln = g.layerNorm(x, g.param("ln.weight", [6], { init: "uniform", low: 0.5, high: 1.5 }), g.param("ln.bias", [6], { init: "uniform" }));
    const att = g.scaledDotProductAttention(ln, g.linear(ln, g.param("k.weight", [6, 6])), g.gelu(ln, f32 ? "none" : "tanh"), { causal: true });
    const img = g.reshape(g.concat([att, g.silu(ln), f32 ? g.erf(ln) : g.tanh(ln)], -1), [2, 1, 5, 18]);
    const bn = { weight: g.param("bn.weight", [3], { init: "uniform", low: 0.5, high: 1.5 }), bias: g.param("bn.bias", [3], { init: "uniform" }), runningMean: g.buffer("bn.running_mean", [3]), runningVar: g.buffer("bn.running_var", [3], { init: "ones" }) };
    const c = g.relu(g.batchNorm(g.conv2d(img, g.param("conv.weight", [3, 1, 3, 3], { init: "he" }), undefined, { padding: 1, stride: [1, 2] }), bn));
    const pooled = g.avgPool2d(g.maxPool2d(c, [2, 3], { stride: 1, padding: 1 }), 2, { countIncludePad: false, padding: 1 });
    const logits = g.linear(g.reshape(pooled, [2, pooled.shape.slice(1).reduce((a, b) => a * b, 1)]), g.param("fc.weight", [4, pooled.shape.slice(1).reduce((a, b) => a * b, 1)]));
    g.output("pred", g.argmax(logits));
    g.output("hot", g.mul(g.oneHot(g.argmax(logits), 4, { ignoreIndex: 1 }), g.softmax(logits)));
    g.output("y", g.dropout(logits, 0.3));
  },
});

describe("export --onnx: onnxruntime-node gives the generated module's outputs", () => {
  const cases: [string, () => Promise<ModelDefinition>, number][] = [
    ["digits-mlp", () => fileDef("models/digits-mlp.model.ts"), 1e-5],
    ["seed-net", () => fileDef("models/seed-net.model.ts"), 1e-5],
    ["digits-adam", () => fileDef("examples/models/digits-adam.model.ts"), 1e-5],
    ["windows (float32)", async () => windows("float32"), 1e-5],
    ["windows (float64)", async () => windows("float64"), 1e-12],
    ["issue 12 and 13 ops (float32)", async () => layers("float32"), 1e-5],
    ["issue 12 and 13 ops (float64)", async () => layers("float64"), 1e-12],
  ];
  it.each(cases)("%s", async (name, def, tol) => {
    const d = await def();
    const { mod } = await compileAndLoad(d, "m");
    const model = mod.createModel({ seed: 4 });
    // running statistics away from 0 and 1, so that eval mode reads real ones
    for (const b of Object.values(model.buffers)) b.forEach((_, i) => (b[i] = 0.5 + 0.25 * Math.sin(i + 1)));
    const bytes = exportOnnx(buildModel(defineModel(d), "m"), { ...model.params, ...model.buffers });
    const proto = decode(bytes);
    expect(Number(proto.irVersion)).toBe(IR_VERSION);
    expect(proto.opsetImport!.map((o) => [o.domain, o.version])).toEqual([["", OPSET]]);
    expect(proto.graph!.output!.map((o) => o.name)).toEqual(Object.keys(mod.spec.outputs));
    const elem = mod.spec.dtype === "float64" ? DT.DOUBLE : DT.FLOAT;
    for (const t of proto.graph!.initializer!) if (t.name! in mod.spec.params) expect(t.dataType, t.name!).toBe(elem);
    // the graph inputs are the inputs the outputs need (no labels)
    const needed = proto.graph!.input!.map((i) => i.name!);
    expect(needed.every((k) => k in mod.spec.inputs)).toBe(true);
    expect(needed).not.toContain("y");
    const feeds: Record<string, { data: Float32Array | Float64Array | Int32Array; dims: number[] }> = randomFeeds(mod, 9, needed);
    if (feeds.ids) feeds.ids.data = Int32Array.from(feeds.ids.data, (v, i) => Math.abs(Math.round(v * 100) + i) % 7);
    const theirs = await run(bytes, feeds);
    const ours = model.forward(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, v.data])));
    for (const k of Object.keys(mod.spec.outputs)) expect(maxRelErr(theirs[k]!, ours[k]!, 1e-3), `${name} ${k}`).toBeLessThan(tol);
  });

  it("the CLI writes <out>/<base>.onnx from --params (a saveParams file) or createModel({ seed: 0 })", async () => {
    const def = await fileDef("models/digits-mlp.model.ts");
    const { mod } = await compileAndLoad(def, "digits");
    const trained = mod.createModel({ seed: 7 });
    writeFileSync(path.join(DIR, "p.safetensors"), trained.saveParams());
    expect((await cli(["export", "--onnx", "models/digits-mlp.model.ts", "--params", path.join(DIR, "p.safetensors"), "--out", path.join(DIR, "a")])).code).toBe(0);
    expect((await cli(["export", "--onnx", "models/digits-mlp.model.ts", "--out", path.join(DIR, "b")])).code).toBe(0);
    const feeds = randomFeeds(mod, 3, ["x"]);
    const x = { x: feeds.x!.data };
    const a = await run(path.join(DIR, "a/digits-mlp.onnx"), feeds);
    const b = await run(path.join(DIR, "b/digits-mlp.onnx"), feeds);
    expect(maxRelErr(a.probs!, trained.forward(x).probs!, 1e-3)).toBeLessThan(1e-5);
    expect(maxRelErr(b.probs!, mod.createModel({ seed: 0 }).forward(x).probs!, 1e-3)).toBeLessThan(1e-5);
  });

  it("refuses with a named error and writes nothing: FG231 (an op without an ONNX form, no outputs), FG232 (--params lacks a param), usage (2)", async () => {
    const def = registry.tanh as { onnx?: unknown };
    const saved = def.onnx;
    delete def.onnx;
    try {
      const built = buildModel(defineModel({ build: (g) => void g.output("y", g.tanh(g.input("x", [2]))) }), "m");
      expect(() => exportOnnx(built, {})).toThrow(expect.objectContaining({ code: "FG231", message: expect.stringContaining("tanh has no ONNX form") }));
    } finally {
      def.onnx = saved;
    }
    const noOut = buildModel(defineModel({ build: (g) => g.sum(g.mul(g.input("x", [2]), g.param("w", [2]))) }), "m");
    expect(() => exportOnnx(noOut, { w: new Float32Array(2) })).toThrow(expect.objectContaining({ code: "FG231" }));
    writeFileSync(path.join(DIR, "partial.safetensors"), (await compileAndLoad({ build: (g) => void g.output("y", g.mul(g.input("x", [2]), g.param("W1", [2]))) }, "p")).mod.createModel().saveParams());
    const out = path.join(DIR, "none");
    const r = await cli(["export", "--onnx", "models/digits-mlp.model.ts", "--params", path.join(DIR, "partial.safetensors"), "--out", out]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/FG232/);
    expect((await cli(["export", "--onnx", "models/digits-mlp.model.ts", "models/seed-net.model.ts", "--out", out])).code).toBe(2);
    expect((await cli(["export", "--onnx", "--torch", "models/digits-mlp.model.ts", "--out", out])).code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });
});

describe("import: models exported by PyTorch (torch.onnx.export, opset 17)", () => {
  const expected = (name: string) => JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), "utf8")) as { inputs: Record<string, number[]>; outputs: Record<string, number[]> };

  it.each(["mlp", "mixed", "cnn", "block"])("%s imports, compiles, gives PyTorch's outputs and exports back", async (name) => {
    const out = path.join(DIR, `imp-${name}`);
    const r = await cli(["import", path.join(FIXTURES, `${name}.onnx`), "--out", out]);
    expect(r.code, r.err).toBe(0);
    const text = readFileSync(path.join(out, `${name}.model.ts`), "utf8");
    expect(text).toMatch(/\/\/ node "\/[\w/]+" \(\w+\)/);
    if (name === "block") expect(text).toMatch(/g\.gelu\(fc1_Add\); \/\/ node "\/Mul_1" \(Mul\): PyTorch's GELU/);
    if (name === "cnn") expect(text).toContain('g.buffer("bn1.running_mean", [4])');
    const def = (await loadModelFile(path.join(out, `${name}.model.ts`))).exported as ModelDefinition;
    const { mod } = await compileAndLoad(def, name);
    const model = mod.createModel();
    model.loadParams(new Uint8Array(readFileSync(path.join(out, `${name}.safetensors`))));
    const ex = expected(name);
    const typed = (k: string, v: number[]) => (mod.spec.inputDtypes[k] === "int32" ? Int32Array.from(v) : Float32Array.from(v));
    const inputs = Object.fromEntries(Object.entries(ex.inputs).map(([k, v]) => [k, typed(k, v)]));
    const ours = model.forward(inputs);
    for (const [k, v] of Object.entries(ex.outputs)) expect(maxRelErr(ours[k]!, v, 1e-3), k).toBeLessThan(1e-5);
    // and back: the same graph, exported by flatgrad, in onnxruntime
    const again = exportOnnx(buildModel(def, name), { ...model.params, ...model.buffers });
    const theirs = await run(again, Object.fromEntries(Object.entries(ex.inputs).map(([k, v]) => [k, { data: typed(k, v), dims: mod.spec.inputs[k]! }])));
    for (const [k, v] of Object.entries(ex.outputs)) expect(maxRelErr(theirs[k]!, v, 1e-3), k).toBeLessThan(1e-5);
  });

  it("--loss adds a target input and a loss, so the imported model fine-tunes (the loss falls)", async () => {
    const out = path.join(DIR, "fine");
    expect((await cli(["import", path.join(FIXTURES, "mlp.onnx"), "--out", out, "--loss", "mse"])).code).toBe(0);
    const def = (await loadModelFile(path.join(out, "mlp.model.ts"))).exported as ModelDefinition;
    const { mod } = await compileAndLoad({ ...def, optimizer: { type: "adam", lr: 0.01 } }, "fine");
    const model = mod.createModel();
    model.loadParams(new Uint8Array(readFileSync(path.join(out, "mlp.safetensors"))));
    const x = Float32Array.from(expected("mlp").inputs.x!);
    const target = new Float32Array(12).map((_, i) => (i % 3 === Math.floor(i / 3) % 3 ? 1 : 0));
    const first = model.step({ x, target });
    let last = first;
    for (let s = 0; s < 50; s++) last = model.step({ x, target });
    expect(last).toBeLessThan(first * 0.25);
  });

  const bad = async (bytes: Uint8Array, code: string, message: RegExp) => {
    const file = path.join(DIR, "bad.onnx");
    writeFileSync(file, bytes);
    const out = path.join(DIR, "bad-out");
    const r = await cli(["import", file, "--out", out]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`error ${code}`));
    expect(r.err).toMatch(message);
    expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(out)).toBe(false);
  };
  const model = (nodes: object[], inputs = [valueInfo("x", DT.FLOAT, [2, 3])], inits: object[] = [], opset = 17) =>
    encode({ irVersion: 8, opsetImport: [{ domain: "", version: opset }], graph: { name: "g", node: nodes, input: inputs, initializer: inits, output: [valueInfo("y", DT.FLOAT, [2, 3])] } });

  it("malformed files are refused with FG233 and nothing written", async () => {
    await bad(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2]), "FG233", /not a valid ONNX model/);
    await bad(model([]).subarray(0, 20), "FG233", /not a valid ONNX model/);
    await bad(encode({ irVersion: 8, opsetImport: [{ domain: "", version: 17 }] }), "FG233", /no graph/);
    await bad(model([{ name: "n1", opType: "Relu", input: ["missing"], output: ["y"] }]), "FG233", /reads "missing", which no earlier node/);
    const r = await cli(["import", path.join(DIR, "nope.onnx"), "--out", path.join(DIR, "x")]);
    expect([r.code, r.err.includes("FG233") && r.err.includes("no such file")]).toEqual([1, true]);
  });

  it("an unsupported op, op version or attribute names the node and the op (FG234); dynamic dims are FG235", async () => {
    await bad(model([{ name: "the_cos", opType: "Cos", input: ["x"], output: ["y"] }]), "FG234", /node "the_cos" \(Cos\): flatgrad does not support the op Cos/);
    await bad(model([{ name: "lr", opType: "LeakyRelu", input: ["x"], output: ["y"], attribute: [{ name: "beta", type: 1, f: 2 }] }]), "FG234", /node "lr" \(LeakyRelu\): the attribute beta is not supported/);
    await bad(model([{ name: "old", opType: "Reshape", input: ["x", "s"], output: ["y"] }], undefined, [tensor("s", DT.INT64, [2], [3, 2])], 4), "FG234", /node "old" \(Reshape\): opset 4 is older than the Reshape flatgrad reads \(opset 5 or newer\)/);
    await bad(encode({ irVersion: 8, opsetImport: [{ domain: "com.example", version: 1 }], graph: { name: "g", output: [valueInfo("y", DT.FLOAT, [1])] } }), "FG233", /imports no version of the default ONNX domain/);
    const dyn = { name: "x", type: { tensorType: { elemType: DT.FLOAT, shape: { dim: [{ dimParam: "batch" }, { dimValue: 3 }] } } } };
    await bad(model([{ name: "r", opType: "Relu", input: ["x"], output: ["y"] }], [dyn as never]), "FG235", /dynamic dimension "batch" at axis 0/);
    await bad(model([{ name: "r", opType: "Reshape", input: ["x", "s"], output: ["y"] }], [valueInfo("x", DT.FLOAT, [2, 3]), valueInfo("s", DT.INT64, [2])]), "FG234", /input 1 \(shape\) must be a constant/);
  });
});
