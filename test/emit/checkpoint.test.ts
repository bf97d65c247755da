/**
 * Checkpoints: `saveParams`/`loadParams` and `saveState`/`loadState` in the safetensors format.
 *
 * - Byte-exact fixtures: the expected files are built here by hand from the format description
 *   (8-byte little-endian header length; the JSON header; little-endian data) and flatgrad's
 *   documented writing rules (`__metadata__` {"format":"pt"} first, then the tensors in
 *   declaration order with consecutive offsets; compact JSON padded with spaces to a multiple
 *   of 8 bytes). The float bytes are written out as hex, not produced by a DataView.
 * - Round trips: save → load gives identical params, and identical `step` results after;
 *   saveState → loadState resumes a run bit for bit.
 * - Every malformed file is rejected with an error naming the problem (and the tensor), and
 *   changes nothing: the model's whole state file is the same bytes before and after.
 */
import { describe, expect, it } from "vitest";
import type { OptimizerConfig } from "../../src/dsl/define.js";
import { compileAndLoad, rng, type GeneratedModel } from "../support/helpers.js";

interface Checkpointing extends GeneratedModel {
  saveParams(): Uint8Array;
  loadParams(bytes: Uint8Array): void;
  saveState(): Uint8Array;
  loadState(bytes: Uint8Array): void;
}

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((b) => parseInt(b, 16)));
const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
/** u64 little-endian, for lengths below 2³². */
const u64 = (n: number) => Uint8Array.from([n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24, 0, 0, 0, 0]);
/** A safetensors file from a header text (padded here with spaces to a multiple of 8) and data. */
function file(header: string, data: Uint8Array, pad = true): Uint8Array {
  const h = pad ? header + " ".repeat((8 - (header.length % 8)) % 8) : header;
  return concat(u64(h.length), ascii(h), data);
}

async function tiny(dtype: "float32" | "float64", optimizer: OptimizerConfig = { type: "sgd", lr: 0.1 }) {
  const { mod } = await compileAndLoad(
    {
      dtype,
      optimizer,
      build(g) {
        const x = g.input("x", [4, 3]);
        const a = g.param("a", [2, 3]);
        const b = g.param("b", [2]);
        return g.mean(g.square(g.linear(x, a, b)));
      },
    },
    `ckpt-${dtype}`,
  );
  return mod;
}

describe("byte-exact files", () => {
  it("float32 saveParams", async () => {
    const m = (await tiny("float32")).createModel() as unknown as Checkpointing;
    m.params.a!.set([1, -2, 0.5, 0.25, 3, 0]);
    m.params.b!.set([-1, 2]);
    const header = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}}';
    expect(header.length).toBe(143); // padded with 1 space to 144 = 0x90
    // float32 little-endian: 1 = 3f800000, -2 = c0000000, 0.5 = 3f000000, 0.25 = 3e800000, 3 = 40400000, 0, -1 = bf800000, 2 = 40000000
    const data = hex("0000803f 000000c0 0000003f 0000803e 00004040 00000000 000080bf 00000040");
    const expected = concat(hex("9000000000000000"), ascii(header + " "), data);
    expect(m.saveParams()).toEqual(expected);
    // and it loads back into a fresh model
    const n = (await tiny("float32")).createModel({ seed: 9 }) as unknown as Checkpointing;
    n.loadParams(expected);
    expect([...n.params.a!]).toEqual([1, -2, 0.5, 0.25, 3, 0]);
    expect([...n.params.b!]).toEqual([-1, 2]);
  });

  it("float64 saveState with SGD momentum: params, optimizer.<param>.momentum_buffer, optimizer.step", async () => {
    const mod = await tiny("float64", { type: "sgd", lr: 0.1, momentum: 0.9 });
    const m = mod.createModel() as unknown as Checkpointing;
    m.params.a!.set([1, 2, 3, 4, 5, 6]);
    m.params.b!.set([0.5, -0.5]);
    const x = Float64Array.from({ length: 12 }, (_, i) => (i % 5) / 4 - 0.5);
    m.step({ x });
    const bytes = m.saveState();
    const header =
      '{"__metadata__":{"format":"pt"},' +
      '"a":{"dtype":"F64","shape":[2,3],"data_offsets":[0,48]},"b":{"dtype":"F64","shape":[2],"data_offsets":[48,64]},' +
      '"optimizer.a.momentum_buffer":{"dtype":"F64","shape":[2,3],"data_offsets":[64,112]},' +
      '"optimizer.b.momentum_buffer":{"dtype":"F64","shape":[2],"data_offsets":[112,128]},' +
      '"optimizer.step":{"dtype":"F64","shape":[],"data_offsets":[128,136]}}';
    const n = header.length + ((8 - (header.length % 8)) % 8);
    expect(bytes.length).toBe(8 + n + 136);
    expect(bytes.subarray(0, 8)).toEqual(u64(n));
    expect(String.fromCharCode(...bytes.subarray(8, 8 + n))).toBe(header.padEnd(n, " "));
    // the data: each value's 8 bytes, little-endian, in key order
    const le64 = (v: number) => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, v, true);
      return b;
    };
    const values = [...m.params.a!, ...m.params.b!, ...m.grads.a!, ...m.grads.b!, 1]; // after one step the buffer is the gradient
    expect(bytes.subarray(8 + n)).toEqual(concat(...values.map(le64)));
    // the step count 1.0 as float64 little-endian is 000000000000f03f
    expect(bytes.subarray(bytes.length - 8)).toEqual(hex("000000000000f03f"));
  });
});

describe("round trips", () => {
  const batches = (n: number, seed: number) => {
    const r = rng(seed);
    return Array.from({ length: n }, () => ({ x: Float32Array.from({ length: 12 }, () => r() * 2 - 1) }));
  };

  it.each([{ type: "sgd", lr: 0.05 }, { type: "adam", lr: 0.01 }, { type: "rmsprop", momentum: 0.5, centered: true }] as OptimizerConfig[])(
    "$type: saveParams → loadParams gives the same params and the same steps after",
    async (opt) => {
      const mod = await tiny("float32", opt);
      const a = mod.createModel({ seed: 1 }) as unknown as Checkpointing;
      const data = batches(10, 3);
      for (const d of data.slice(0, 5)) a.step(d);
      const b = mod.createModel({ seed: 2 }) as unknown as Checkpointing;
      b.loadParams(a.saveParams());
      expect(b.saveParams()).toEqual(a.saveParams());
      for (const k of ["a", "b"]) expect(b.params[k]).toEqual(a.params[k]);
      a.resetOptimizer(); // b's optimizer is fresh: compare with a fresh one
      for (const d of data.slice(5)) expect(b.step(d)).toBe(a.step(d));
      expect(b.saveState()).toEqual(a.saveState());
    },
  );

  it.each(["float32", "float64"] as const)("%s adam: saveState → loadState resumes bit for bit", async (dtype) => {
    const mod = await tiny(dtype, { type: "adam", lr: 0.01, clipGradNorm: 1 });
    const Arr = dtype === "float32" ? Float32Array : Float64Array;
    const data = batches(12, 4).map((d) => ({ x: Arr.from(d.x) }));
    const a = mod.createModel({ seed: 1 }) as unknown as Checkpointing;
    for (const d of data.slice(0, 6)) a.step(d);
    const saved = a.saveState();
    const b = mod.createModel({ seed: 5 }) as unknown as Checkpointing;
    b.step(data[0]!); // b has state of its own that the load replaces
    b.loadState(saved);
    expect(b.saveState()).toEqual(saved);
    for (const d of data.slice(6)) expect(Object.is(b.step(d), a.step(d))).toBe(true);
    expect(b.saveState()).toEqual(a.saveState());
    // without the optimizer state (loadParams only), the next steps differ: Adam's moments matter
    const c = mod.createModel({ seed: 1 }) as unknown as Checkpointing;
    for (const d of data.slice(0, 6)) c.step(d);
    const d2 = mod.createModel({ seed: 5 }) as unknown as Checkpointing;
    d2.loadParams(c.saveParams());
    c.step(data[6]!);
    d2.step(data[6]!);
    expect(d2.saveParams()).not.toEqual(c.saveParams());
  });

  it("same seed → same bytes; different seeds → different bytes", async () => {
    const mod = await tiny("float32");
    const save = (seed?: number) => (mod.createModel(seed === undefined ? undefined : { seed }) as unknown as Checkpointing).saveParams();
    expect(save(7)).toEqual(save(7));
    expect(save()).toEqual(save(0));
    expect(save(7)).not.toEqual(save(8));
  });
});

describe("malformed files are rejected, and nothing changes", () => {
  const A = '"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}';
  const Bt = '"b":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}';
  const data32 = new Uint8Array(32).fill(0x3f);
  const good = file(`{${A},${Bt}}`, data32);

  const CASES: { name: string; bytes: () => Uint8Array; error: RegExp; state?: boolean }[] = [
    { name: "not bytes", bytes: () => "abc" as unknown as Uint8Array, error: /expected the bytes of a safetensors file/ },
    { name: "shorter than the header length", bytes: () => good.subarray(0, 5), error: /truncated: 5 bytes, fewer than the 8/ },
    { name: "header too large (> 100 MB)", bytes: () => concat(u64(100_000_001), ascii("{}")), error: /header too large: 100000001 bytes/ },
    { name: "header length past the end", bytes: () => concat(u64(500), ascii("{}")), error: /truncated: the header is 500 bytes but only 2 follow/ },
    { name: "header length ≥ 2³²", bytes: () => concat(hex("0800000001000000"), ascii("{}      ")), error: /header too large/ },
    { name: "bad UTF-8", bytes: () => concat(u64(8), Uint8Array.from([0x7b, 0xff, 0x7d, 32, 32, 32, 32, 32])), error: /bad header: not valid UTF-8/ },
    { name: "bad JSON", bytes: () => file(`{${A},${Bt}`, data32), error: /bad header: not valid JSON/ },
    { name: "JSON that is not an object", bytes: () => file(`[1,2]`, data32), error: /bad header: not a JSON object/ },
    { name: "bad __metadata__", bytes: () => file(`{"__metadata__":{"n":1},${A},${Bt}}`, data32), error: /__metadata__ must map strings to strings/ },
    { name: "an extra tensor", bytes: () => file(`{${A},${Bt},"c":{"dtype":"F32","shape":[1],"data_offsets":[32,36]}}`, new Uint8Array(36)), error: /unexpected tensor "c": the model has a, b/ },
    { name: "a missing tensor", bytes: () => file(`{${A}}`, new Uint8Array(24)), error: /missing tensor "b"/ },
    { name: "a wrong name", bytes: () => file(`{${A},${Bt.replace('"b"', '"B"')}}`, data32), error: /unexpected tensor "B"/ },
    { name: "wrong dtype", bytes: () => file(`{${A},${Bt.replace("F32", "F64")}}`, data32), error: /tensor "b": dtype "F64", expected "F32"/ },
    { name: "wrong shape", bytes: () => file(`{${A.replace("[2,3]", "[3,2]")},${Bt}}`, data32), error: /tensor "a": shape \[3, 2\], expected \[2, 3\]/ },
    { name: "wrong rank", bytes: () => file(`{${A},${Bt.replace("[2]", "[2,1]")}}`, data32), error: /tensor "b": shape \[2, 1\], expected \[2\]/ },
    { name: "shape not an array of sizes", bytes: () => file(`{${A},${Bt.replace("[2]", '["2"]')}}`, data32), error: /tensor "b": shape \["2"\] is not an array of sizes/ },
    { name: "offsets of the wrong size", bytes: () => file(`{${A.replace("[0,24]", "[0,20]")},${Bt}}`, data32), error: /tensor "a": data_offsets \[0, 20\] hold 20 bytes, expected 24/ },
    { name: "offsets not a pair", bytes: () => file(`{${A.replace("[0,24]", "[24,0]")},${Bt}}`, data32), error: /tensor "a": data_offsets \[24,0\] is not a pair/ },
    { name: "offsets out of range (truncated data)", bytes: () => good.subarray(0, good.length - 4), error: /tensor "b": data_offsets \[24, 32\] run past the end of the data \(28 bytes\)/ },
    {
      name: "overlapping offsets",
      bytes: () => file(`{${A},${Bt.replace("[24,32]", "[16,24]")}}`, new Uint8Array(24)),
      error: /tensor "a": data_offsets \[0, 24\] overlap tensor "b"|tensor "b": data_offsets \[16, 24\] overlap tensor "a"/,
    },
    { name: "a gap between tensors", bytes: () => file(`{${A.replace("[0,24]", "[4,28]")},${Bt.replace("[24,32]", "[28,36]")}}`, new Uint8Array(36)), error: /tensor "a": data_offsets \[4, 28\] leave bytes 0…4 of the data unused/ },
    { name: "trailing bytes", bytes: () => concat(good, new Uint8Array(8)), error: /8 bytes after the last tensor \("b"\) belong to no tensor/ },
    { name: "a params file to loadState", bytes: () => good, error: /missing tensors "optimizer.a.exp_avg", .*"optimizer.step"/, state: true },
  ];

  it.each(CASES)("$name", async ({ bytes, error, state }) => {
    const mod = await tiny("float32", { type: "adam", lr: 0.01 });
    const m = mod.createModel({ seed: 3 }) as unknown as Checkpointing;
    m.step({ x: Float32Array.from({ length: 12 }, (_, i) => i / 12) });
    const before = m.saveState();
    expect(() => (state ? m.loadState(bytes()) : m.loadParams(bytes()))).toThrow(error);
    expect(() => (state ? m.loadState(bytes()) : m.loadParams(bytes()))).toThrow(/^ckpt-float32: load(Params|State): /);
    expect(m.saveState()).toEqual(before);
    // the good file next to it does load
    m.loadParams(good);
    expect(m.params.a![0]).toBe(new DataView(data32.buffer).getFloat32(0, true));
  });

  it("a state file is not a params file (its optimizer tensors are extra names), and a bad last tensor leaves the first untouched", async () => {
    const mod = await tiny("float64", { type: "sgd", lr: 0.1, momentum: 0.9 });
    const m = mod.createModel({ seed: 1 }) as unknown as Checkpointing;
    const before = m.saveState();
    expect(() => m.loadParams(before)).toThrow(/unexpected tensor "optimizer.a.momentum_buffer"/);
    // valid "a" with new values, then a bad "b": a must not have been written
    const A = '"a":{"dtype":"F64","shape":[2,3],"data_offsets":[0,48]}';
    const B = '"b":{"dtype":"F64","shape":[3],"data_offsets":[48,64]}';
    expect(() => m.loadParams(file(`{${A},${B}}`, new Uint8Array(64).fill(0x40)))).toThrow(/tensor "b": shape \[3\], expected \[2\]/);
    expect(m.saveState()).toEqual(before);
    // an unpadded header is fine to read (the padding is how flatgrad writes, not a rule of the format)
    let note = "";
    const header = () => `{"__metadata__":{"note":"${note}"},${A},${B.replace("[3]", "[2]")}}`;
    while (header().length % 8 !== 3) note += "x";
    const unpadded = file(header(), new Uint8Array(64), false);
    expect((unpadded.length - 8 - 64) % 8).toBe(3);
    m.loadParams(unpadded);
    expect([...m.params.a!, ...m.params.b!]).toEqual(new Array(8).fill(0));
  });
});
