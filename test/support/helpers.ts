/** Test helpers: compile a model in memory, write it under test/.tmp, import it. */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { compileDefinition, type BuildFlags } from "../../src/compile.js";
import { defineModel, type ModelDefinition } from "../../src/index.js";
import type { Graph } from "../../src/ir/graph.js";
import { size } from "../../src/ir/shape.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const TMP = path.join(ROOT, "test", ".tmp");

type Tensor = Float32Array | Float64Array | Int32Array;
export interface GeneratedModel {
  params: Record<string, Float32Array | Float64Array>;
  grads: Record<string, Float32Array | Float64Array>;
  buffers: Record<string, Float32Array | Float64Array>;
  forward(inputs: Record<string, Tensor>): Record<string, Float32Array | Float64Array>;
  lossAndGrad(inputs: Record<string, Tensor>): number;
  loss(inputs: Record<string, Tensor>): number;
  step(inputs: Record<string, Tensor>, options?: { lr?: number }): number;
  resetOptimizer(): void;
  saveParams(): Uint8Array;
  loadParams(bytes: Uint8Array): void;
  readonly engine: "wasm-simd" | "js";
}
export interface GeneratedModule {
  spec: {
    name: string;
    dtype: string;
    inputs: Record<string, number[]>;
    inputDtypes: Record<string, string>;
    params: Record<string, number[]>;
    buffers: Record<string, number[]>;
    outputs: Record<string, number[]>;
    outputDtypes: Record<string, string>;
  };
  createModel(options?: { seed?: number }): GeneratedModel;
  createModelAsync(options?: { seed?: number; simd?: boolean }): Promise<GeneratedModel>;
}

let counter = 0;
/** Compile a definition, import the generated module (`build`: true for a debug build, or `{ debug?, readable? }`). */
export async function compileAndLoad(def: ModelDefinition, name = "m", build: BuildFlags = false) {
  const out = await compileDefinition(defineModel(def), name, `${name}.model.ts`, build);
  mkdirSync(TMP, { recursive: true });
  const file = path.join(TMP, `${name}-${process.pid}-${counter++}.ts`);
  writeFileSync(file, out.text);
  const mod = (await import(file)) as GeneratedModule;
  return { ...out, mod, file };
}

/** A deterministic generator for test data (mulberry32, the one the examples use). */
export { mulberry32 as rng } from "../../examples/data.js";

export function randomInputs(g: Graph, rand: () => number, Arr: Float32ArrayConstructor | Float64ArrayConstructor = Float64Array, scale = 1) {
  const out: Record<string, Float64Array | Float32Array> = {};
  for (const [n, node] of g.inputs) {
    const a = new Arr(size(node.shape));
    for (let i = 0; i < a.length; i++) a[i] = (rand() * 2 - 1) * scale;
    out[n] = a;
  }
  return out;
}

/** The lengths of a result and its reference agree: a short (or long) result is wrong, not close. */
function sameLength(fn: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a?.length !== b?.length) throw new Error(`${fn}: the result has ${a?.length ?? String(a)} values but the reference has ${b?.length ?? String(b)}`);
}

/** max |a − b| / max(|b|, floor) over the elements; throws when the lengths differ. NaN anywhere gives NaN (never "close"). */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-12): number {
  sameLength("maxRelErr", a, b);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), floor));
  return m;
}

/** max |a − b| over max |b| (throws when the lengths differ): float32 sums differ from float64 by rounding, relative to the tensor's scale. */
export function scaledErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  sameLength("scaledErr", a, b);
  let d = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return s === 0 ? d : d / s;
}

/** A fresh project folder in the OS's temp dir: an ESM package.json and `files` (paths relative to it). The caller removes it. */
export function tempProject(prefix: string, files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "p", type: "module" }));
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), text);
  }
  return dir;
}

/** The kernels' module of a generated file: its bytes (from WASM_KERNELS) and its text (the closing comment). */
export function kernelsOf(text: string): { bytes: Uint8Array; wat: string } | undefined {
  const m = /const WASM_KERNELS = \[([\s\S]*?)\]\.join\(""\)/.exec(text);
  if (!m) return undefined;
  const b64 = (JSON.parse(`[${m[1]!.replace(/,\s*$/, "")}]`) as string[]).join("");
  const comment = text.slice(text.lastIndexOf("/*\n * The WebAssembly SIMD kernels, as text"));
  const wat = comment
    .split("\n")
    .filter((l) => l.startsWith(" * (") || l.startsWith(" *  "))
    .map((l) => l.slice(3))
    .join("\n");
  return { bytes: Uint8Array.from(Buffer.from(b64, "base64")), wat };
}
