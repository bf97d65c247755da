#!/usr/bin/env node
// `node bench/convKernels.mjs [rounds] [kernel…] [--ab=OTHER.ts]`: each WebAssembly SIMD convolution kernel of
// W4 (LeNet) alone, as src/wasm/conv.ts writes it (and, with --ab, as another copy of conv.ts in src/wasm/ writes it:
// A/B in one process, interleaved): forward conv1 and conv2 (bias and ReLU in the lanes, as the
// generated module fuses them), dX of conv2, dW of conv1 and conv2. Each kernel is checked once against
// float64 loops, then timed: per round, the median of 15 calls; prints GFLOP/s of the best and of the
// median round. The kernels are interleaved round by round, so a slow spell of the host hits them all.
import { createJiti } from "jiti";

const jiti = createJiti(import.meta.url);
const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const other = process.argv.find((a) => a.startsWith("--ab="))?.slice(5);
const variants = [["", await jiti.import("../src/wasm/conv.ts")], ...(other ? [[` (${other})`, await jiti.import(`../${other}`)]] : [])];
const { vector } = await jiti.import("../src/wasm/matmul.ts");
const { wasmModule } = await jiti.import("../src/wasm/module.ts");
const { convGeom } = await jiti.import("../src/ops/convGeom.ts");

const view = (base, shape, strides) => ({ base, shape, strides: strides ?? shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1)), offset: 0 });
const size = (s) => s.reduce((a, b) => a * b, 1);
const attrs = { stride: [1, 1], dilation: [1, 1], groups: 1 };
const layers = {
  conv1: { x: [64, 1, 28, 28], w: [8, 1, 5, 5] },
  conv2: { x: [64, 8, 12, 12], w: [16, 8, 5, 5] },
};
const all = [
  ["fwd conv1", "conv1", "forward"],
  ["fwd conv2", "conv2", "forward"],
  ["dX conv2", "conv2", "input-grad"],
  ["dW conv1", "conv1", "weight-grad"],
  ["dW conv2", "conv2", "weight-grad"],
];
const rounds = Number(args[0] ?? 7);
const only = args.slice(1);
const chosen = all.filter(([name]) => !only.length || only.some((o) => name.includes(o)));

let s = 7;
const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;

const kernels = chosen.flatMap(([label, layer, mode]) => variants.map(([tag, { simdConvFunc, planConv }]) => {
  const name = label + tag;
  const G = convGeom("conv", layers[layer].x, layers[layer].w, attrs);
  const zShape = [G.N, G.O, G.OH, G.OW];
  const bufs = { x: layers[layer].x, W: layers[layer].w, Z: zShape, b: [G.O] };
  const at = {};
  let top = 64;
  for (const [k, sh] of Object.entries(bufs)) {
    at[k] = top;
    top += Math.ceil((size(sh) * 4) / 64) * 64 + 64;
  }
  const out = top;
  const outLen = mode === "forward" ? size(zShape) : mode === "input-grad" ? size(bufs.x) : size(bufs.W);
  top += outLen * 4 + 64;
  const [a, b] = mode === "forward" ? [view("x", bufs.x), view("W", bufs.W)] : mode === "input-grad" ? [view("Z", zShape), view("W", bufs.W)] : [view("Z", zShape), view("x", bufs.x)];
  const plan = planConv(mode, G, a, b);
  if (mode === "forward")
    plan.epilogue = {
      leaves: [view("b", zShape, [0, 1, 0, 0])],
      build: (L, acc, leaf) => {
        const t = L.add(acc, leaf(0));
        return L.ifGreater(t, L.num(0), t, L.num(0));
      },
    };
  const f = simdConvFunc("k", plan, (base) => at[base], out);
  const { bytes } = wasmModule([f], Math.ceil(top / 65536));
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  const mem = new Float32Array(inst.exports.memory.buffer);
  const arr = (k) => mem.subarray(at[k] / 4, at[k] / 4 + size(bufs[k]));
  for (const k of Object.keys(bufs)) arr(k).set(Float32Array.from({ length: size(bufs[k]) }, rand));
  const o = mem.subarray(out / 4, out / 4 + outLen);
  o.fill(NaN);
  inst.exports.k();
  // float64 reference
  const [x, W, Z, bias] = ["x", "W", "Z", "b"].map(arr);
  const ref = new Float64Array(outLen);
  for (let n = 0; n < G.N; n++)
    for (let oc = 0; oc < G.O; oc++)
      for (let oh = 0; oh < G.OH; oh++)
        for (let ow = 0; ow < G.OW; ow++) {
          const zi = ((n * G.O + oc) * G.OH + oh) * G.OW + ow;
          for (let c = 0; c < G.C; c++)
            for (let kh = 0; kh < G.KH; kh++)
              for (let kw = 0; kw < G.KW; kw++) {
                const xi = ((n * G.C + c) * G.H + oh + kh) * G.W + ow + kw;
                const wi = ((oc * G.C + c) * G.KH + kh) * G.KW + kw;
                if (mode === "forward") ref[zi] += x[xi] * W[wi];
                else if (mode === "input-grad") ref[xi] += Z[zi] * W[wi];
                else ref[wi] += Z[zi] * x[xi];
              }
          if (mode === "forward") ref[zi] = Math.max(0, ref[zi] + bias[oc]);
        }
  let err = 0;
  let scale = 0;
  for (let i = 0; i < outLen; i++) {
    err = Math.max(err, Math.abs(o[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  if (!(err / scale < 1e-5)) throw new Error(`${name}: wrong result, scaled error ${err / scale}`);
  const flop = 2 * G.N * G.O * G.OH * G.OW * G.Cg * G.KH * G.KW;
  return { name, run: inst.exports.k, flop, times: [], err: err / scale };
}));

for (let r = 0; r < rounds; r++)
  for (const k of kernels) {
    const t = [];
    for (let i = 0; i < 15; i++) {
      const t0 = performance.now();
      k.run();
      t.push(performance.now() - t0);
    }
    t.sort((a, b) => a - b);
    k.times.push(t[7]);
  }
for (const k of kernels) {
  k.times.sort((a, b) => a - b);
  const [best, med] = [k.times[0], k.times[k.times.length >> 1]];
  const g = (ms) => (k.flop / ms / 1e6).toFixed(1);
  console.log(`${k.name.padEnd(other ? 14 + other.length : 10)} ${(k.flop / 1e6).toFixed(1).padStart(5)} MFLOP  best ${best.toFixed(3)} ms (${g(best)} GFLOP/s)  median ${med.toFixed(3)} ms (${g(med)} GFLOP/s)  err ${k.err.toExponential(1)}`);
}
