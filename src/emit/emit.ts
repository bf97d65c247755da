/**
 * Emission: the module skeleton from templates/module.ts, filled in with ts-morph (spec, types,
 * arena, initialisation, one function per entry point with its kernels written as loops), then
 * formatted by prettier in memory. Same program, same bytes.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CodeBlockWriter, Project } from "ts-morph";
import * as prettier from "prettier";
import type { OptimizerConfig } from "../dsl/define.js";
import { fmtShape, size, type Site } from "../ir/shape.js";
import type { Attrs } from "../ops/types.js";
import type { Kernel, Program } from "../lower/lower.js";
import type { KernelWriter } from "../lower/view.js";
import { emitUpdate, stateRoles, type UpdateTarget } from "../optim/update.js";
import { wasmModule } from "../wasm/module.js";
import { bufferReads, simdMatmulFunc } from "../wasm/matmul.js";

const TEMPLATE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../templates/module.ts");
let templateText: string | undefined;

export interface EmitOptions {
  /** The model file, relative to the project root, POSIX-style (for the header and comments). */
  file: string;
  optimizer: OptimizerConfig;
  paramInit: Map<string, Attrs>;
  /** A debug build: every kernel's output is checked for NaN/Infinity and summarised for `stats()`. */
  debug?: boolean;
}

/** Text that is safe inside a line comment. */
const safe = (s: string) => s.replace(/[\r\n\u2028\u2029]/g, " ");
const dims = (s: readonly number[]) => (s.length ? `[${s.join("×")}]` : "scalar");

function writerFor(cw: CodeBlockWriter): KernelWriter {
  const kw: KernelWriter = {
    line: (t) => void cw.writeLine(t),
    block: (head, body) => void cw.write(`${head} `).block(body),
    loop: (name, extent, body) => kw.block(`for (let ${name} = 0; ${name} < ${extent}; ${name}++)`, body),
  };
  return kw;
}

export async function emitModule(prog: Program, opts: EmitOptions): Promise<string> {
  templateText ??= readFileSync(TEMPLATE, "utf8");
  const g = prog.graph;
  const T = g.dtype === "float32" ? "Float32Array" : "Float64Array";
  const project = new Project({ useInMemoryFileSystem: true, skipLoadingLibFiles: true });
  const sf = project.createSourceFile("module.ts", templateText);
  const relSite = (s: Site | undefined) => (s ? `${safe(opts.file)}:${s.line}` : safe(opts.file));

  sf.getTypeAliasOrThrow("Arr").setType(T);
  sf.getVariableDeclarationOrThrow("ArrayType").setInitializer(T);
  const shapes = (m: ReadonlyMap<string, { shape: readonly number[] }>) => `{ ${[...m].map(([k, n]) => `${JSON.stringify(k)}: [${n.shape.join(", ")}]`).join(", ")} }`;
  sf.getVariableDeclarationOrThrow("spec").setInitializer(
    `{ name: ${JSON.stringify(g.name)}, dtype: ${JSON.stringify(g.dtype)} as "float32" | "float64", inputs: ${shapes(g.inputs)}, params: ${shapes(g.params)}, outputs: ${shapes(g.outputs)} }`,
  );
  const props = (m: ReadonlyMap<string, { shape: readonly number[] }>) => [...m].map(([k, n]) => ({ name: JSON.stringify(k), type: T, docs: [`${dims(n.shape)}, ${size(n.shape)} values, row-major`] }));
  sf.getInterfaceOrThrow("Inputs").addProperties(props(g.inputs));
  sf.getInterfaceOrThrow("Params").addProperties(props(g.params));
  sf.getInterfaceOrThrow("Outputs").addProperties(props(g.outputs));

  // optimizer state lives after everything else in the arena: per param, the optimizer's state
  // buffers (torch's names); then the step count t
  const roles = stateRoles(opts.optimizer);
  let arenaSize = prog.arenaSize;
  const stateBuffer = (preferred: string, n: number) => {
    const name = prog.namer.claim(preferred);
    prog.buffers.push({ name, size: n, offset: arenaSize, role: "state" });
    arenaSize += n;
    return name;
  };
  const targets: UpdateTarget[] = [...prog.params].map(([pn, buf]) => {
    const n = size(g.params.get(pn)!.shape);
    const state: Record<string, string> = {};
    for (const r of roles) state[r] = stateBuffer(`${r}_${pn}`, n);
    return { name: pn, param: buf, grad: prog.grads.get(pn)!, size: n, state };
  });
  const counter = stateBuffer("optimizer_step", 1);
  // the program's arena now includes the optimizer state: what the compile summary reports
  prog.arenaSize = arenaSize;
  // locals of the generated code that must not shadow a buffer
  const claimed = new Map<string, string>();
  const local = (preferred: string) => {
    if (!claimed.has(preferred)) claimed.set(preferred, prog.namer.claim(preferred));
    return claimed.get(preferred)!;
  };
  const wasm = wasmKernelsOf(prog, arenaSize);
  if (wasm) {
    const b64 = Buffer.from(wasm.bytes).toString("base64");
    const chunks = b64.match(/.{1,100}/g)!.map((c) => JSON.stringify(c));
    const decl = sf.getVariableDeclarationOrThrow("WASM_KERNELS");
    decl.setInitializer(`[\n${chunks.join(",\n")},\n].join("")`);
    decl.getVariableStatementOrThrow().getJsDocs()[0]!.setDescription(
      `The WebAssembly SIMD kernels (${wasm.bytes.length} bytes, base64): one function per matmul, over the model's arena as their memory. Their text is at the end of this file.`,
    );
    sf.getInterfaceOrThrow("Kernels").addMethods([...wasm.names].map(([k, name]) => ({ name, returnType: "void", docs: [safe(k.comment.split(";  ")[0]!)] })));
  } else {
    // no matmul suits SIMD (or the model is float64): the module carries no WebAssembly at all
    for (const unused of ["wasmKernels", "decodeBase64"]) sf.getFunctionOrThrow(unused).remove();
    sf.getVariableStatementOrThrow("WASM_KERNELS").remove();
    for (const unused of ["Kernels", "WasmApi"]) sf.getInterfaceOrThrow(unused).remove();
  }
  // template helpers called inside createModel: renamed if a buffer took the name
  for (const helper of wasm ? ["writeSafetensors", "readSafetensors", "wasmKernels"] : ["writeSafetensors", "readSafetensors"]) {
    const name = local(helper);
    if (name !== helper) sf.getFunctionOrThrow(helper).rename(name);
  }
  const store = g.dtype === "float32" ? (e: string) => `Math.fround(${e})` : (e: string) => e;
  // checkpoint keys: the param names; optimizer state as optimizer.<param>.<state>, and optimizer.step
  const tensor = (key: string, shape: readonly number[], buf: string) => `{ name: ${JSON.stringify(key)}, shape: [${shape.join(", ")}], data: ${buf} }`;
  const paramTensors = targets.map((t) => tensor(t.name, g.params.get(t.name)!.shape, t.param));
  const stateTensors = [
    ...targets.flatMap((t) => roles.map((r) => tensor(`optimizer.${t.name}.${r}`, g.params.get(t.name)!.shape, t.state[r]!))),
    tensor("optimizer.step", [], counter),
  ];

  if (opts.debug) {
    sf.insertInterfaces(sf.getInterfaceOrThrow("Model").getChildIndex() + 1, [
      { isExported: true, name: "TensorStats", docs: ["Summary of one tensor after the last step (debug builds)."], properties: ["min", "max", "mean", "norm"].map((n) => ({ name: n, type: "number" })) },
      {
        isExported: true,
        name: "ModelStats",
        docs: ["What `stats()` returns: the step number, every kernel's output summarised, and ‖dL/dW‖/‖W‖ per parameter."],
        properties: [
          { name: "step", type: "number" },
          { name: "tensors", type: "Record<string, TensorStats>" },
          { name: "gradToParam", type: "Record<string, number>" },
        ],
      },
    ]);
    sf.getInterfaceOrThrow("Model").addMethod({ name: "stats", returnType: "ModelStats", docs: ["Debug builds: per tensor min, max, mean and L2 norm for the last step, and ‖dL/dW‖/‖W‖ per parameter."] });
  }
  const wk = local("kernels");
  const fn = sf.getFunctionOrThrow("createModel");
  fn.setBodyText((cw) => {
    const w = writerFor(cw);
    w.line(`// One arena holds every buffer (${arenaSize} values); temporaries whose lifetimes do not overlap share memory.`);
    if (wasm) {
      w.line("// With the WebAssembly SIMD kernels, the arena is their memory; without them, the plain loops below run.");
      w.line(`const ${wk} = options.simd === false ? undefined : ${local("wasmKernels")}();`);
      w.line(`const arena = ${wk} ? new ${T}(${wk}.memory.buffer, 0, ${arenaSize}) : new ${T}(${arenaSize});`);
    } else w.line(`const arena = new ${T}(${arenaSize});`);
    const groups: [string, string][] = [
      ["param", "parameters"],
      ["grad", "gradients dL/dparam"],
      ["state", "optimizer state"],
      ["constant", "constants"],
      ["input", "inputs, copied where the WebAssembly kernels read them"],
      ["temp", "activations and intermediate gradients"],
    ];
    for (const [role, title] of groups) {
      const bs = prog.buffers.filter((b) => b.role === role);
      if (!bs.length) continue;
      w.line(`// ${title}`);
      for (const b of bs) w.line(`const ${b.name} = arena.subarray(${b.offset}, ${b.offset + b.size});`);
    }
    for (const b of prog.buffers.filter((b) => b.values)) w.line(`${b.name}.set([${b.values!.join(", ")}]);`);

    w.line("");
    w.line("// initialisation: deterministic for a seed");
    if ([...prog.params.keys()].some((pn) => !["zeros", "ones"].includes(opts.paramInit.get(pn)?.init as string))) w.line("const rand = prng(options.seed ?? 0);");
    else if (!wasm) w.line("void options; // no random init and no WebAssembly: nothing to choose");
    for (const [pn, buf] of prog.params) emitInit(w, buf, g.params.get(pn)!.shape, opts.paramInit.get(pn) ?? {});

    const inputLines = (names: string[], ks: Kernel[]) => {
      for (const n of names) w.line(`const ${prog.inputLocals.get(n)} = input(inputs, ${JSON.stringify(n)}, ${size(g.inputs.get(n)!.shape)});`);
      for (const n of names) {
        const local = prog.inputLocals.get(n)!;
        const copy = prog.inputCopies.get(local);
        if (copy && ks.some((k) => k.simd && bufferReads(k.simd.plan).includes(local))) w.line(`if (${wk}) ${copy}.set(${local});`);
      }
    };
    const kernels = (ks: Kernel[]) => {
      let phase: boolean | undefined;
      for (const k of ks) {
        if (k.backward !== phase && ks.some((q) => q.backward)) {
          w.line("");
          w.line(k.backward ? "// ---- backward: the chain rule, from the loss back to every parameter ----" : "// ---- forward ----");
          phase = k.backward;
        }
        emitKernel(w, k, relSite, wasm && k.simd ? { kernels: wk, name: wasm.names.get(k)! } : undefined);
        if (opts.debug) w.line(`${watch}(${JSON.stringify(k.out)}, ${k.out}, ${JSON.stringify(safe(k.comment))}, ${JSON.stringify(relSite(k.site))});`);
      }
    };
    const watch = local("watch");
    const debugStep = local("debugStep");
    const lastStats = local("lastStats");
    if (opts.debug) {
      w.line("");
      w.line("// ---- debug build: after every kernel, its output is checked for NaN/Infinity and summarised for stats() ----");
      w.line(`let ${debugStep} = 0;`);
      w.line(`let ${lastStats}: Record<string, TensorStats> = {};`);
      w.block(`function ${watch}(name: string, a: Arr, equation: string, where: string): void`, () => {
        w.line("let min = Infinity;");
        w.line("let max = -Infinity;");
        w.line("let sum = 0;");
        w.line("let sq = 0;");
        w.block("for (let i = 0; i < a.length; i++)", () => {
          w.line("const v = a[i]!;");
          w.line(
            "if (!Number.isFinite(v)) throw new Error(`${spec.name}: ${name}[${i}] = ${v} after step ${" +
              debugStep +
              "}: ${equation}   (${where}). It is the first non-finite value: look at the inputs of this step.`);",
          );
          w.line("if (v < min) min = v;");
          w.line("if (v > max) max = v;");
          w.line("sum += v;");
          w.line("sq += v * v;");
        });
        w.line(`${lastStats}[name] = { min, max, mean: sum / a.length, norm: Math.sqrt(sq) };`);
      });
    }

    w.line("");
    w.block("function forward(inputs: Partial<Inputs>): Outputs", () => {
      if (!prog.forwardInputs.length) w.line("void inputs; // no output reads an input");
      inputLines(prog.forwardInputs, prog.forward);
      kernels(prog.forward);
      w.line(`return { ${[...prog.outputs].map(([k, b]) => `${JSON.stringify(k)}: ${b}`).join(", ")} };`);
    });
    w.line("");
    w.block("function lossAndGrad(inputs: Inputs): number", () => {
      if (!prog.loss) {
        w.line("void inputs;");
        w.line(`throw new Error(\`\${spec.name}: the model returns no loss, so it has nothing to differentiate\`);`);
        return;
      }
      inputLines(prog.trainInputs, prog.train);
      if (opts.debug) {
        w.line(`${debugStep}++;`);
        w.line(`${lastStats} = {};`);
      }
      kernels(prog.train);
      w.line(`return ${prog.loss}[0]!;`);
    });
    w.line("");
    w.block("function step(inputs: Inputs, options?: { lr?: number }): number", () => {
      if (!prog.loss) {
        // an inference-only model: nothing to update (lossAndGrad throws, saying so)
        w.line("void options;");
        w.line("return lossAndGrad(inputs);");
        return;
      }
      w.line(`const lr = rate(options, ${opts.optimizer.lr ?? 0.01});`);
      w.line("const lossValue = lossAndGrad(inputs);");
      emitUpdate({ w, targets, counter, store, local }, opts.optimizer);
      w.line("return lossValue;");
    });
    w.line("");
    const reset = local("resetOptimizer");
    w.block(`function ${reset}(): void`, () => {
      w.line("// a fresh optimizer: zero moments, momentum buffers and step count");
      for (const b of prog.buffers.filter((b) => b.role === "state")) w.line(`${b.name}.fill(0);`);
    });
    w.line("");
    w.line("// checkpoints (safetensors): each tensor's key, shape and arena view");
    const pt = local("paramTensors");
    const st = local("stateTensors");
    w.line(`const ${pt}: Tensor[] = [${paramTensors.join(", ")}];`);
    w.line(`const ${st}: Tensor[] = [...${pt}, ${stateTensors.join(", ")}];`);
    w.line("");
    const obj = (m: Map<string, string>) => `{ ${[...m].map(([k, b]) => `${JSON.stringify(k)}: ${b}`).join(", ")} }`;
    const stats = local("stats");
    if (opts.debug) {
      w.block(`function ${stats}(): ModelStats`, () => {
        if (prog.grads.size) w.line("const norm = (a: Arr) => Math.sqrt(a.reduce((s, v) => s + v * v, 0));");
        w.line("// ‖dL/dW‖ / ‖W‖ per layer: exploding gradients show as large ratios, vanishing ones as tiny ratios");
        w.line(
          `const gradToParam: Record<string, number> = { ${[...prog.params].filter(([k]) => prog.grads.has(k)).map(([k, b]) => `${JSON.stringify(k)}: norm(${prog.grads.get(k)}) / norm(${b})`).join(", ")} };`,
        );
        w.line(`return { step: ${debugStep}, tensors: { ...${lastStats} }, gradToParam };`);
      });
    }
    const rd = local("readSafetensors");
    const wr = local("writeSafetensors");
    w.line(
      `return { params: ${obj(prog.params)}, grads: ${prog.loss ? obj(prog.grads) : "{} as Params /* no loss: no gradients */"}, forward, lossAndGrad, step, ${reset === "resetOptimizer" ? reset : `resetOptimizer: ${reset}`}, ` +
        `saveParams: () => ${wr}(${pt}), loadParams: (bytes: Uint8Array) => ${rd}(bytes, ${pt}, "loadParams"), ` +
        `saveState: () => ${wr}(${st}), loadState: (bytes: Uint8Array) => ${rd}(bytes, ${st}, "loadState"), ` +
        `engine: ${wasm ? `${wk} ? "wasm-simd" : "js"` : '"js"'}${opts.debug ? `, stats: ${stats}` : ""} };`,
    );
  });

  // template helpers this model never calls are left out (a user's tsconfig may have noUnusedLocals)
  const body = fn.getBodyText() ?? "";
  for (const helper of ["rate", "prng", "fillUniform", "fillNormal"]) if (!new RegExp(`\\b${helper}\\(`).test(body)) sf.getFunctionOrThrow(helper).remove();
  let text = sf.getFullText().replace("MODEL_FILE", safe(opts.file)).replace(/ \(filled in\)/g, "");
  if (wasm) text += `\n/*\n * The WebAssembly SIMD kernels, as text (WAT): the module that WASM_KERNELS holds, byte for byte.\n * Addresses are bytes: 4 × the arena offsets of the buffers above.\n *\n${wasm.wat.split("\n").map((l) => ` * ${l}`.trimEnd()).join("\n")}\n */\n`;
  // the template's own explanation is for flatgrad's developers, not for the generated file
  text = text.replace(/\/\* The skeleton of every generated module\.[\s\S]*?\*\/\n/, "");
  // babel-ts prints the same as the typescript parser here, three times faster
  return prettier.format(text, { parser: "babel-ts", printWidth: 120 });
}

/** The WebAssembly SIMD kernels of a program: one function per matmul with a SIMD plan, addressing the arena; undefined when there are none. */
function wasmKernelsOf(prog: Program, arenaSize: number): { names: Map<Kernel, string>; bytes: Uint8Array; wat: string } | undefined {
  const simd = [...new Set([...prog.forward, ...prog.train].filter((k) => k.simd))];
  if (!simd.length) return undefined;
  const names = new Map(simd.map((k) => [k, `mm_${k.out}`]));
  const offsetOf = new Map(prog.buffers.map((b) => [b.name, b.offset]));
  for (const [input, copy] of prog.inputCopies) offsetOf.set(input, offsetOf.get(copy)!);
  const addr = (b: string): number => {
    const at = offsetOf.get(b);
    if (at === undefined) throw new Error(`internal: the WebAssembly kernels read ${b}, which is not in the arena`);
    return at;
  };
  const funcs = simd.map((k) => simdMatmulFunc(names.get(k)!, k.simd!.plan, addr, addr(k.out)));
  return { names, ...wasmModule(funcs, Math.max(1, Math.ceil((arenaSize * 4) / 65536))) };
}

function emitKernel(w: KernelWriter, k: Kernel, relSite: (s: Site | undefined) => string, simd?: { kernels: string; name: string }): void {
  w.line("");
  w.line(`// ${safe(k.comment)}   ${dims(k.node.shape)}   ${relSite(k.site)}`);
  const loops = () => {
    const sub = new CodeBlockWriter({ indentNumberOfSpaces: 2 });
    k.emit(writerFor(sub));
    const body = sub.toString();
    // a kernel that declares names at its top level gets a block of its own
    if (/^(let|const) /m.test(body.split("\n").filter((l) => !l.startsWith(" ")).join("\n"))) w.block("", () => body.trimEnd().split("\n").forEach((l) => w.line(l)));
    else body.trimEnd().split("\n").forEach((l) => w.line(l));
  };
  if (!simd || !k.simd) return loops();
  const { plan, product, epilogue } = k.simd;
  w.block(`if (${simd.kernels})`, () => {
    const how = plan.mode === "along-j" ? "blocks of 4 rows × 8 columns, f32x4 along the columns" : "blocks of 4 rows × 2 columns, f32x4 along k";
    w.line(`// ${k.out} ← ${safe(product)} in WebAssembly SIMD (${how})${epilogue ? ", then the rest of the equation in place" : ""}`);
    w.line(`${simd.kernels}.${simd.name}();`);
    if (epilogue) epilogue(w);
  });
  w.block("else", loops);
}

function emitInit(w: KernelWriter, buf: string, shape: readonly number[], init: Attrs): void {
  const kind = init.init as string;
  const fanIn = shape.length ? shape[shape.length - 1]! : 1;
  const fanOut = shape.length ? size(shape) / fanIn : 1;
  switch (kind) {
    case "zeros":
      return w.line(`// ${buf}: zeros (the arena starts at zero)`);
    case "ones":
      return w.line(`${buf}.fill(1); // ones`);
    case "xavier": {
      const lim = Math.sqrt(6 / (fanIn + fanOut));
      return w.line(`fillUniform(${buf}, ${-lim}, ${lim}, rand); // xavier: U(±√(6/(fan_in + fan_out))), fan_in = ${fanIn}, fan_out = ${fanOut}`);
    }
    case "he":
      return w.line(`fillNormal(${buf}, ${Math.sqrt(2 / fanIn)}, rand); // he: N(0, 2/fan_in), fan_in = ${fanIn}`);
    case "normal": {
      const std = (init.std as number | undefined) ?? 0.01;
      return w.line(`fillNormal(${buf}, ${std}, rand); // normal: N(0, ${std}²)`);
    }
    case "uniform": {
      const low = (init.low as number | undefined) ?? -0.05;
      const high = (init.high as number | undefined) ?? 0.05;
      return w.line(`fillUniform(${buf}, ${low}, ${high}, rand); // uniform: U(${low}, ${high})`);
    }
    default:
      throw new Error(`internal: unknown init ${kind}`);
  }
}
export { fmtShape };
