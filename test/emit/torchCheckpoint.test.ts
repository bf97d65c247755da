/**
 * A checkpoint of a model with batch norm is a PyTorch state_dict (test/fixtures/torch/
 * make_bn_checkpoint.py): Linear + BatchNorm1d trained a few steps by torch 1.13 in train() mode,
 * saved as safetensors. loadParams takes it as it is (params and buffers under the state_dict's
 * keys; num_batches_tracked may be absent), and forward (eval mode) gives torch's eval() outputs.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { ModelDefinition } from "../../src/dsl/define.js";
import { loadModelFile } from "../../src/front/load.js";
import { compileAndLoad, ROOT, scaledErr } from "../support/helpers.js";

const dir = path.join(ROOT, "test/fixtures/torch");
const fixture = JSON.parse(readFileSync(path.join(dir, "bn_checkpoint.json"), "utf8")) as { state_dict: [string, number[]][]; x_eval: number[]; y_eval: number[] };
const bytes = new Uint8Array(readFileSync(path.join(dir, "bn_checkpoint.safetensors")));

/** The tensors of a safetensors file: key → [dtype, shape]. */
function header(file: Uint8Array): Map<string, [string, number[]]> {
  const n = new DataView(file.buffer, file.byteOffset).getUint32(0, true);
  const h = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[] }>;
  return new Map(Object.entries(h).filter(([k]) => k !== "__metadata__").map(([k, v]) => [k, [v.dtype, v.shape]]));
}

/** The float32 values of every tensor of a safetensors file, by key. */
function values(file: Uint8Array): Map<string, Float32Array> {
  const n = new DataView(file.buffer, file.byteOffset).getUint32(0, true);
  const h = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  const data = file.slice(8 + n); // aligned for the Float32Array views
  return new Map(
    Object.entries(h)
      .filter(([k]) => k !== "__metadata__")
      .map(([k, v]) => {
        expect(v.dtype, k).toBe("F32");
        return [k, new Float32Array(data.buffer, v.data_offsets[0], (v.data_offsets[1] - v.data_offsets[0]) / 4)];
      }),
  );
}

const net = (dtype: "float32" | "float64") => ({
  dtype,
  build(g: import("../../src/dsl/builder.js").Builder) {
    const x = g.input("x", [5, 3]);
    const h = g.linear(x, g.param("fc.weight", [4, 3]), g.param("fc.bias", [4]));
    const stats = {
      weight: g.param("bn.weight", [4], { init: "ones" }),
      bias: g.param("bn.bias", [4], { init: "zeros" }),
      runningMean: g.buffer("bn.running_mean", [4]),
      runningVar: g.buffer("bn.running_var", [4], { init: "ones" }),
    };
    const y = g.batchNorm(h, stats);
    g.output("y", y);
    return g.mse(y, g.input("t", [5, 4]));
  },
});

describe("a batch-norm checkpoint is a PyTorch state_dict", () => {
  it("keys and shapes are the state_dict's (num_batches_tracked aside); torch's file loads and gives torch's eval outputs", async () => {
    const { mod } = await compileAndLoad(net("float32"), "bn-checkpoint");
    const expected = fixture.state_dict.filter(([k]) => !k.endsWith("num_batches_tracked"));
    const ours = { ...mod.spec.params, ...mod.spec.buffers };
    expect(Object.keys(ours).sort()).toEqual(expected.map(([k]) => k).sort());
    for (const [k, shape] of expected) expect(ours[k], k).toEqual(shape);
    expect(Object.keys(mod.spec.buffers).sort()).toEqual(["bn.running_mean", "bn.running_var"]);
    // buffers start as PyTorch's: running_mean 0, running_var 1
    const m = mod.createModel({ seed: 2 });
    expect(Array.from(m.buffers["bn.running_var"]!)).toEqual([1, 1, 1, 1]);
    expect(Array.from(m.buffers["bn.running_mean"]!)).toEqual([0, 0, 0, 0]);
    m.loadParams(bytes);
    const y = m.forward({ x: Float32Array.from(fixture.x_eval) }).y!;
    expect(scaledErr(y, fixture.y_eval)).toBeLessThan(1e-6);
    // the file holds what the model saves: the same keys, shapes and dtype, and the same bytes of values
    const saved = m.saveParams();
    const theirs = header(bytes);
    const mine = header(saved);
    expect([...mine.keys()].sort()).toEqual([...theirs.keys()].sort());
    for (const [k, v] of theirs) expect(mine.get(k), k).toEqual(v);
    const again = mod.createModel();
    again.loadParams(saved);
    for (const k of Object.keys(mod.spec.buffers)) expect(Array.from(again.buffers[k]!)).toEqual(Array.from(m.buffers[k]!));
    expect(Array.from(again.forward({ x: Float32Array.from(fixture.x_eval) }).y!)).toEqual(Array.from(y));
  });

  it("buffers are saved in the model's dtype, and neither forward nor loss changes them; lossAndGrad and step update them once per call", async () => {
    const { mod } = await compileAndLoad(net("float64"), "bn-checkpoint-f64");
    const m = mod.createModel({ seed: 4 });
    for (const [k, [dtype]] of header(m.saveParams())) expect(dtype, k).toBe("F64");
    const x = Float64Array.from({ length: 15 }, (_, i) => Math.sin(i));
    const t = Float64Array.from({ length: 20 }, (_, i) => Math.cos(i));
    const snapshot = () => Object.fromEntries(Object.entries(m.buffers).map(([k, v]) => [k, Array.from(v)]));
    const start = snapshot();
    m.forward({ x });
    m.loss({ x, t });
    expect(snapshot()).toEqual(start);
    // each training call moves the running mean by momentum·(batch mean − running mean): with the same batch, geometrically
    const means: number[] = [];
    for (let call = 0; call < 3; call++) {
      if (call < 2) m.lossAndGrad({ x, t });
      else m.step({ x, t });
      means.push(m.buffers["bn.running_mean"]![0]!);
    }
    // the batch mean μ of channel 0 is the same each call until step changes the params: m1 = 0.1μ, m2 = 0.19μ, m3 = 0.271μ
    const mu = means[0]! / 0.1;
    expect(means[1]!).toBeCloseTo(0.19 * mu, 12);
    expect(means[2]!).toBeCloseTo(0.271 * mu, 12);
  });
});

/**
 * The demo's CNN (examples/models/digits-cnn.model.ts) against its torch.nn twin (test/fixtures/
 * torch/make_cnn_checkpoint.py: Conv2d, BatchNorm2d, MaxPool2d, Dropout, Linear, seeded, 5 AdamW
 * steps in train() mode, then eval()): torch's state_dict file loads as it is, and forward and
 * loss (eval mode: running statistics, no dropout) give torch's eval() logits and cross-entropy.
 */
describe("a checkpoint of the demo's CNN is a PyTorch state_dict", () => {
  const cnn = JSON.parse(readFileSync(path.join(dir, "cnn_checkpoint.json"), "utf8")) as {
    state_dict: [string, number[]][];
    x_eval: number[];
    y_eval: number[];
    logits: number[];
    loss: number;
  };
  const file = new Uint8Array(readFileSync(path.join(dir, "cnn_checkpoint.safetensors")));

  it("same keys and shapes (num_batches_tracked aside); loadParams takes torch's file; eval logits and loss are torch's", async () => {
    const def = (await loadModelFile(path.join(ROOT, "examples/models/digits-cnn.model.ts"))).exported as ModelDefinition;
    const { mod } = await compileAndLoad(def, "cnn-checkpoint");
    const expected = cnn.state_dict.filter(([k]) => !k.endsWith("num_batches_tracked"));
    expect(cnn.state_dict.length - expected.length).toBe(2); // bn1's and bn2's counters, nothing else left out
    const ours = { ...mod.spec.params, ...mod.spec.buffers };
    expect(Object.keys(ours).sort()).toEqual(expected.map(([k]) => k).sort());
    for (const [k, shape] of expected) expect(ours[k], k).toEqual(shape);
    expect(Object.keys(mod.spec.buffers).sort()).toEqual(["bn1.running_mean", "bn1.running_var", "bn2.running_mean", "bn2.running_var"]);

    const m = mod.createModel({ seed: 3 });
    m.loadParams(file);
    const x = Float32Array.from(cnn.x_eval);
    const y = Int32Array.from(cnn.y_eval);
    const logits = m.forward({ x }).logits!;
    // float32 on both sides, summed in different orders (144-term convolutions, batch norm, a
    // 128-term linear): within 4e-6 of the largest logit, about 30 float32 ulps (measured 5.2e-7),
    // and the eval loss within 1e-6 relative (measured 1.0e-7)
    expect(scaledErr(logits, cnn.logits)).toBeLessThan(4e-6);
    expect(Math.abs(m.loss({ x, y }) - cnn.loss) / cnn.loss).toBeLessThan(1e-6);
    // the running statistics matter here: with PyTorch's initial ones (mean 0, var 1) the logits are far off
    const fresh = mod.createModel({ seed: 3 });
    fresh.loadParams(file);
    for (const k of Object.keys(mod.spec.buffers)) fresh.buffers[k]!.fill(k.endsWith("running_var") ? 1 : 0);
    expect(scaledErr(fresh.forward({ x }).logits!, cnn.logits)).toBeGreaterThan(1e-2);

    // and what the model saves is that file: the same keys, shapes and dtype, the same bytes of values
    const theirs = header(file);
    const mine = header(m.saveParams());
    expect([...mine.keys()].sort()).toEqual([...theirs.keys()].sort());
    for (const [k, v] of theirs) expect(mine.get(k), k).toEqual(v);
    const saved = values(m.saveParams());
    for (const [k, v] of values(file)) expect(Array.from(saved.get(k)!), k).toEqual(Array.from(v));
  }, 60_000);
});
