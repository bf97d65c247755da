/**
 * Hostile names: a name from a model file never injects code or breaks the generated module.
 * Names that are not plain ASCII identifiers or dotted paths of them (or are reserved) are rejected with FG110; names
 * that are valid but collide with the generated code's own identifiers are renamed locally and
 * still appear verbatim as keys, and the module type-checks and computes the right values.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compileDefinition } from "../../src/compile.js";
import { defineModel } from "../../src/index.js";
import { interpret } from "../../src/interp/interp.js";
import { FlatgradError } from "../../src/ir/shape.js";
import { RESERVED } from "../../src/ir/names.js";
import { compileAndLoad, maxRelErr, ROOT, scaledErr, TMP } from "../support/helpers.js";

const injections = [
  "*/", "/*", "*/ alert(1) /*", "\u2028", "\u2029", "a\u2028b", "`", "${}", "${process.exit(1)}", "`${1}`", '"', "'", '";', "';", "\\", "\\u0061",
  "a b", " a", "a ", "a\nb", "a\rb", "a\tb", "\0", "a\0", "a-b", "a.b", "a,b", "a;b", "a:b", "a+b", "a(b)", "a[0]", "a{}", "<script>", "</script>",
  "a=b", "a!", "a?", "a#", "#a", "@a", "a@b", "%", "a%b", "&&", "||", "a|b", "a&b", "~a", "^", "1", "1a", "0x1", "1e3", "-1", "NaN ", "",
  "é", "变量", "ä", "π", "Ω", "🔥", "a🔥", "👍🏽", "\u200b", "a\u200bb", "\ufeff", "ＡＢＣ", "ℌ", "ǅ", "x\u0301", "$", "$a", "a$", "$$", "_$",
  "x".repeat(65), "y".repeat(100), "z".repeat(10_000), "constructor", "__proto__", "prototype", "toString", "valueOf", "hasOwnProperty",
  "isPrototypeOf", "propertyIsEnumerable", "toLocaleString", "__defineGetter__",
];
const reservedWords = [...RESERVED];
const rejected = [...new Set([...injections, ...reservedWords, ...injections.map((s) => `w${s}`), ...injections.map((s) => `${s}w`)])].filter(
  // dotted paths of identifiers ("wa.b") are valid names (the contract's Extension 2); test/ir/names.test.ts covers them
  (s) => !/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(s) || s.length > 64 || RESERVED.has(s),
);

/** Valid names that collide with identifiers the generated code uses itself. */
const colliding = [
  "arena", "rand", "options", "inputs", "model", "params", "grads", "spec", "lr", "rate", "input", "prng", "fillUniform", "fillNormal",
  "forward", "lossAndGrad", "step", "resetOptimizer", "acc", "aip", "best", "where", "o", "v", "p", "i", "j", "k", "i0", "i1", "bi0",
  "tmp0", "acc00", "ai0", "bj0", "gi", "mi", "sq", "coef", "lossValue", "loss", "Math", "Number", "Object", "Array", "Error",
  "Float32Array", "Float64Array", "ArrayType", "Arr", "Inputs", "Params", "Outputs", "Model", "createModel", "W", "dW", "W_2", "_", "__",
];

/** Valid names that collide with identifiers of the WebAssembly SIMD path (float32 models with matmuls). */
const simdColliding = [
  "kernels", "wasmKernels", "WASM_KERNELS", "decodeBase64", "Kernels", "WasmApi", "memory", "x_copy", "mm_h0", "mm_dx",
  "globalThis", "WebAssembly", "Uint8Array", "ArrayBuffer", "engine", "buffer", "validate", "Module", "Instance", "exports",
];
/** tsc's complaints about a generated module under strict settings with no DOM or Node types ("" when none). */
function typecheck(folder: string, text: string): string {
  const dir = path.join(TMP, folder);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "colliding.ts"), text);
  writeFileSync(
    path.join(dir, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noUncheckedIndexedAccess: true, noEmit: true, types: [], lib: ["ES2022"] }, include: ["*.ts"] }),
  );
  try {
    execFileSync(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", dir], { encoding: "utf8" });
    return "";
  } catch (e) {
    return String((e as { stdout?: string }).stdout ?? e);
  }
}

describe("hostile names", () => {
  it(`rejects ${rejected.length} names that are not plain identifiers, with FG110 (FG171 for a malformed dotted name), for inputs, params and outputs`, async () => {
    expect(rejected.length).toBeGreaterThanOrEqual(200);
    for (const [i, name] of rejected.entries()) {
      const kind = (["input", "param", "output"] as const)[i % 3]!;
      const def = defineModel({
        build(g) {
          const p = g.param("p", [2]);
          if (kind === "input") g.input(name, [2]);
          if (kind === "param") g.param(name, [2]);
          g.output(kind === "output" ? name : "out", p);
          return g.sum(p);
        },
      });
      let err: unknown;
      try {
        await compileDefinition(def, "hostile");
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(name)).toBeInstanceOf(FlatgradError);
      // a dotted name (of a length that could be valid) is told apart from a bad identifier by its own code
      const dotted = name.includes(".") && name.length <= 64;
      expect((err as FlatgradError).code, JSON.stringify(name)).toBe(dotted ? "FG171" : "FG110");
      expect((err as FlatgradError).message).toContain(`${kind}: invalid ${dotted ? "dotted name" : "name"}`);
      // the message quotes the name safely: no raw line breaks, at most a short excerpt
      expect((err as FlatgradError).message).not.toMatch(/[\n\r\u2028\u2029]/);
      expect((err as FlatgradError).message.length).toBeLessThan(400);
    }
  });

  it(`compiles ${colliding.length} valid names that collide with the generated code's identifiers: type-checks, right values`, async () => {
    const { text, mod, graph } = await compileAndLoad(
      {
        dtype: "float64",
        build(g) {
          let acc = g.input("x", [3]);
          let loss = g.sum(acc);
          colliding.forEach((name, k) => {
            const p = g.param(name, [3], { init: "normal", std: 0.5 });
            const h = g.tanh(g.add(g.mul(acc, p), k / 10));
            if (k % 7 === 0) g.output(name, h);
            loss = g.add(loss, g.sum(g.square(h)));
            acc = h;
          });
          return loss;
        },
      },
      "colliding",
    );
    expect(typecheck("names", text)).toBe("");
    const m = mod.createModel({ seed: 4 });
    expect(Object.keys(m.params)).toEqual(colliding);
    expect(Object.keys(mod.spec.params)).toEqual(colliding);
    const inputs = { x: Float64Array.from([0.3, -0.2, 0.9]) };
    const ref = interpret(graph, inputs, Object.fromEntries(Object.entries(m.params).map(([k, v]) => [k, Float64Array.from(v)])));
    expect(maxRelErr([m.lossAndGrad(inputs)], [ref.loss!])).toBeLessThan(1e-12);
    for (const k of colliding) expect(maxRelErr(m.grads[k]!, ref.grads[k]!, 1e-12), k).toBeLessThan(1e-10);
    const out = m.forward(inputs);
    for (const k of Object.keys(ref.outputs)) expect(maxRelErr(out[k]!, ref.outputs[k]!, 1e-12), k).toBeLessThan(1e-12);
  });

  it(`compiles ${simdColliding.length} names that collide with the SIMD path's identifiers: type-checks, runs its kernels, right values`, async () => {
    const { text, mod, graph } = await compileAndLoad(
      {
        build(g) {
          let h = g.input("x", [5, 8]);
          simdColliding.forEach((name, k) => {
            const W = g.param(name, [8, 8], { init: "normal", std: 0.3 });
            h = g.tanh(g.matmul(h, k % 2 ? W : g.transpose(W)));
            if (k % 5 === 0) g.output(`${name}_out`, h);
          });
          return g.mean(g.square(h));
        },
      },
      "colliding-simd",
    );
    expect(text).toMatch(/kernels_?\d*\.mm_\w+\(/);
    expect(typecheck("names-simd", text)).toBe("");
    const m = mod.createModel({ seed: 4 }) as ReturnType<typeof mod.createModel> & { engine: string };
    expect(m.engine).toBe("wasm-simd");
    expect(Object.keys(m.params)).toEqual(simdColliding);
    const x = Float32Array.from({ length: 40 }, (_, i) => Math.sin(i));
    const ref = interpret(graph, { x: Float64Array.from(x) }, Object.fromEntries(Object.entries(m.params).map(([k, v]) => [k, Float64Array.from(v)])));
    expect(maxRelErr([m.lossAndGrad({ x })], [ref.loss!])).toBeLessThan(1e-5);
    // float32 sums: errors relative to each gradient's largest element
    for (const k of simdColliding) expect(scaledErr(m.grads[k]!, ref.grads[k]!), k).toBeLessThan(1e-5);
    // outputs through up to 20 float32 layers: errors relative to each output's largest element
    const out = m.forward({ x });
    for (const k of Object.keys(ref.outputs)) expect(scaledErr(out[k]!, ref.outputs[k]!), k).toBeLessThan(1e-5);
  });
});
