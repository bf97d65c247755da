/**
 * A checkpoint of a model with batch norm is a PyTorch state_dict (test/fixtures/torch/
 * make_bn_checkpoint.py): Linear + BatchNorm1d trained a few steps by torch 1.13 in train() mode,
 * saved as safetensors. loadParams takes it as it is (params and buffers under the state_dict's
 * keys; num_batches_tracked may be absent), and forward (eval mode) gives torch's eval() outputs.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
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
