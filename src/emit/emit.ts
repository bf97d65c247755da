/**
 * Emission: the module skeleton from templates/module.ts, filled in with ts-morph (spec, types,
 * arena, initialisation, one function per entry point with its kernels written as loops), then
 * formatted by prettier in memory. Same program, same bytes.
 */
import { Project } from "ts-morph";
import * as prettier from "prettier";
import type { OptimizerConfig } from "../dsl/define.js";
import { size, type Site } from "../ir/shape.js";
import { BYTES, type Node } from "../ir/graph.js";
import type { Attrs } from "../ops/types.js";
import { drawsRandom } from "../ops/index.js";
import { sharedMemory } from "../lower/memory.js";
import type { Kernel, Program } from "../lower/program.js";
import { emitUpdate, type UpdateTarget } from "../optim/update.js";
import { bufferReads } from "../wasm/plan.js";
import { addDebugTypes, emitStats, emitWatch, prop, type DebugNames } from "./debug.js";
import { dims, emitInit, emitKernel, renderBody, safe, writerFor } from "./kernel.js";
import { emitSharedCall, emitSharedFunctions, forwardRun, shareKernels } from "./share.js";
import { ARRAY_OF, templateText } from "./template.js";
import { kernelMethods, wasmKernelsOf } from "./wasm.js";
import { rangeChecks } from "../lower/ranges.js";

export interface EmitOptions {
  /** The model file, relative to the project root, POSIX-style (for the header and comments). */
  file: string;
  optimizer: OptimizerConfig;
  paramInit: Map<string, Attrs>;
  /** Buffers' inits (absent: zeros). */
  bufferInit?: Map<string, Attrs>;
  /** A debug build: every kernel's output is checked for NaN/Infinity and summarised for `stats()`. */
  debug?: boolean;
  /** A readable build: the kernels were lowered as plain loops (no SIMD plans); the module says so. */
  readable?: boolean;
}

/** The buffers of each role, in the order the module declares them, with a comment each. */
const GROUPS: [string, string][] = [
  ["param", "parameters"],
  ["grad", "gradients dL/dparam"],
  ["optimizer", "optimizer state"],
  ["buffer", "buffers (state that is not trained)"],
  ["constant", "constants"],
  ["input", "inputs, copied where the WebAssembly kernels read them"],
  ["temp", "activations and intermediate gradients"],
];

/** `a`, `a and b`, `a, b and c`, `a, b, c and 2 more`: a short list for a comment. */
export function listNames(names: string[], most = 3): string {
  const shown = names.slice(0, most);
  const rest = names.length - shown.length;
  if (rest > 0) return `${shown.join(", ")} and ${rest} more`;
  return shown.length === 1 ? shown[0]! : `${shown.slice(0, -1).join(", ")} and ${shown[shown.length - 1]!}`;
}

export async function emitModule(prog: Program, opts: EmitOptions): Promise<string> {
  const g = prog.graph;
  const T = ARRAY_OF[g.dtype];
  const project = new Project({ useInMemoryFileSystem: true, skipLoadingLibFiles: true });
  const sf = project.createSourceFile("module.ts", templateText());
  const relSite = (s: Site | undefined) => (s ? `${safe(opts.file)}:${s.line}` : safe(opts.file));

  sf.getTypeAliasOrThrow("Arr").setType(T);
  sf.getVariableDeclarationOrThrow("ArrayType").setInitializer(T);
  const shapes = (m: ReadonlyMap<string, { shape: readonly number[] }>) => `{ ${[...m].map(([k, n]) => `${JSON.stringify(k)}: [${n.shape.join(", ")}]`).join(", ")} }`;
  const dtypesOf = (m: ReadonlyMap<string, Node>) => `{ ${[...m].map(([k, n]) => `${JSON.stringify(k)}: ${JSON.stringify(n.dtype)}`).join(", ")} }`;
  sf.getVariableDeclarationOrThrow("spec").setInitializer(
    `{ name: ${JSON.stringify(g.name)}, dtype: ${JSON.stringify(g.dtype)} as "float32" | "float64", inputs: ${shapes(g.inputs)}, inputDtypes: ${dtypesOf(g.inputs)} as const, params: ${shapes(g.params)}, buffers: ${shapes(g.buffers)}, outputs: ${shapes(g.outputs)}, outputDtypes: ${dtypesOf(g.outputs)} as const }`,
  );
  const props = (m: ReadonlyMap<string, Node>) => [...m].map(([k, n]) => ({ name: JSON.stringify(k), type: ARRAY_OF[n.dtype], docs: [`${dims(n.shape)}, ${size(n.shape)} values, row-major`] }));
  sf.getInterfaceOrThrow("Inputs").addProperties(props(g.inputs));
  sf.getInterfaceOrThrow("Params").addProperties(props(g.params));
  sf.getInterfaceOrThrow("Buffers").addProperties(props(g.buffers));
  sf.getInterfaceOrThrow("Outputs").addProperties(props(g.outputs));

  // the names this function writes in createModel's scope, claimed before any kernel is written, so
  // that no buffer shadows them and no kernel's local shadows them
  const claim = (preferred: string) => prog.namer.claim(preferred);
  const [memory, rand, forward, lossAndGrad, evalLoss, step, reset, inputs, lr, lossValue, pt, st] = [
    "memory", "rand", "forward", "lossAndGrad", "evalLoss", "step", "resetOptimizer", "inputs", "lr", "lossValue", "paramTensors", "stateTensors",
  ].map(claim) as [string, string, string, string, string, string, string, string, string, string, string, string];
  // training-time randomness (dropout's masks) draws from a generator of its own, seeded apart from the init's
  const random = prog.train.some((k) => drawsRandom(k.node.op)) ? claim("dropoutRandom") : undefined;
  const debug: DebugNames | undefined = opts.debug ? { watch: claim("watch"), step: claim("debugStep"), lastStats: claim("lastStats"), stats: claim("stats") } : undefined;
  // one typed view of the arena per dtype that a buffer has: the model's own is `arena`
  const dtypes = [...new Set([g.dtype, ...prog.buffers.map((b) => b.dtype)])];
  const viewOf = new Map(dtypes.map((d) => [d, claim(d === g.dtype ? "arena" : `arena_${d}`)]));
  const wasm = wasmKernelsOf(prog, prog.arenaBytes);
  const wk = wasm ? claim("kernels") : "";
  if (wasm) {
    const b64 = Buffer.from(wasm.bytes).toString("base64");
    const chunks = b64.match(/.{1,100}/g)!.map((c) => JSON.stringify(c));
    const decl = sf.getVariableDeclarationOrThrow("WASM_KERNELS");
    decl.setInitializer(`[\n${chunks.join(",\n")},\n].join("")`);
    decl.getVariableStatementOrThrow().getJsDocs()[0]!.setDescription(
      `The WebAssembly SIMD kernels (${wasm.bytes.length} bytes, base64): one function per matmul${wasm.funcs.some((f) => f.arity) ? " (matmuls that differ only in their operands' addresses share one, which takes them as arguments)" : ""}, over the model's arena as their memory. Their text is at the end of this file.`,
    );
    sf.getInterfaceOrThrow("Kernels").addMethods(kernelMethods(wasm.funcs));
  } else {
    // no matmul suits SIMD (or the model is float64): the module carries no WebAssembly at all
    for (const unused of ["wasmKernels", "wasmKernelsAsync", "decodeBase64"]) sf.getFunctionOrThrow(unused).remove();
    sf.getVariableStatementOrThrow("WASM_KERNELS").remove();
    sf.getVariableStatementOrThrow("ready").remove();
    sf.getFunctionOrThrow("createModelAsync").setBodyText("// no kernels to compile: the model is createModel's\nreturn createModel(options);");
    for (const unused of ["Kernels", "WasmApi"]) sf.getInterfaceOrThrow(unused).remove();
  }
  if (debug) addDebugTypes(sf);

  // per param, the optimizer's state buffers (torch's names) and the step count: the memory plan placed them
  const { roles, step: counter } = prog.optimizer;
  const targets: UpdateTarget[] = [...prog.params].map(([pn, buf]) => ({
    name: pn,
    param: buf,
    grad: prog.grads.get(pn)!,
    size: size(g.params.get(pn)!.shape),
    state: prog.optimizer.state.get(pn)!,
  }));
  const store = g.dtype === "float32" ? (e: string) => `Math.fround(${e})` : (e: string) => e;
  // checkpoint keys: the param names; optimizer state as optimizer.<param>.<state>, and optimizer.step
  const tensor = (key: string, shape: readonly number[], buf: string) => `{ name: ${JSON.stringify(key)}, shape: [${shape.join(", ")}], data: ${buf} }`;
  const paramTensors = [
    ...targets.map((t) => tensor(t.name, g.params.get(t.name)!.shape, t.param)),
    ...[...prog.buffersOf].map(([bn, buf]) => tensor(bn, g.buffers.get(bn)!.shape, buf)),
  ];
  const stateTensors = [
    ...targets.flatMap((t) => roles.map((r) => tensor(`optimizer.${t.name}.${r}`, g.params.get(t.name)!.shape, t.state[r]!))),
    tensor("optimizer.step", [], counter),
  ];

  // kernels that are the same loops on other buffers share one function (src/emit/share.ts)
  const simdCall = (k: Kernel) => (wasm && k.simd ? { kernels: wk, ...wasm.calls.get(k)! } : undefined);
  const bufferType = new Map([...prog.buffers.map((b) => [b.name, ARRAY_OF[b.dtype]] as const), ...[...prog.inputLocals].map(([n, l]) => [l, ARRAY_OF[g.inputs.get(n)!.dtype]] as const)]);
  const render = (k: Kernel) => renderBody(k, prog.namer, random, simdCall(k));
  const kernelSharing = shareKernels([...prog.forward, ...prog.train, ...prog.evalLoss], render, bufferType, new Set(prog.inputLocals.values()), claim);
  const run = forwardRun(prog, (n) => ARRAY_OF[g.inputs.get(n)!.dtype], claim);

  sf.getFunctionOrThrow("createModel").setBodyText((cw) => {
    const w = writerFor(cw, prog.namer, random);
    w.line(`// One arena of ${prog.arenaBytes} bytes holds every buffer, each a view of its dtype; temporaries whose lifetimes do not overlap share memory.`);
    if (opts.readable) w.line("// A readable build (--readable): every matrix product is a plain triple loop, with no register blocking and no WebAssembly.");
    if (wasm) {
      w.line("// With the WebAssembly SIMD kernels, the arena is their memory; without them, the plain loops below run.");
      w.line(`const ${wk} = options.simd === false ? undefined : wasmKernels();`);
      w.line(`const ${memory} = ${wk} ? ${wk}.memory.buffer : new ArrayBuffer(${prog.arenaBytes});`);
    } else w.line(`const ${memory} = new ArrayBuffer(${prog.arenaBytes});`);
    for (const [d, view] of viewOf) w.line(`const ${view} = new ${ARRAY_OF[d]}(${memory}, 0, ${Math.floor(prog.arenaBytes / BYTES[d])});`);
    // a temporary placed over earlier ones says so: two names, one range of bytes (why it may, the
    // arena's comment above says once: their lifetimes do not overlap)
    const shared = sharedMemory(prog.buffers);
    const sharing = (name: string) => {
      const with_ = shared.get(name);
      return with_ ? ` // shares memory with ${listNames(with_)}` : "";
    };
    for (const [role, title] of GROUPS) {
      const bs = prog.buffers.filter((b) => b.role === role);
      if (!bs.length) continue;
      w.line(`// ${title}`);
      for (const b of bs) {
        const at = b.offset / BYTES[b.dtype];
        w.line(`const ${b.name} = ${viewOf.get(b.dtype)}.subarray(${at}, ${at + b.size});${sharing(b.name)}`);
      }
    }
    for (const b of prog.buffers.filter((b) => b.values)) w.line(`${b.name}.set([${b.values!.join(", ")}]);`);

    w.line("");
    w.line("// initialisation: deterministic for a seed");
    const inits = [...prog.params.keys()].map((pn) => opts.paramInit.get(pn)?.init).concat([...prog.buffersOf.keys()].map((bn) => opts.bufferInit?.get(bn)?.init));
    if (inits.some((i) => i !== undefined && i !== "zeros" && i !== "ones")) w.line(`const ${rand} = prng(options.seed ?? 0);`);
    else if (!wasm && !random) w.line("void options; // no random init and no WebAssembly: nothing to choose");
    if (random) w.line(`const ${random} = prng(((options.seed ?? 0) ^ 0x5bd1e995) >>> 0); // dropout's masks: a new one on every training call`);
    for (const [pn, buf] of prog.params) emitInit(w, buf, g.params.get(pn)!.shape, opts.paramInit.get(pn) ?? {}, rand);
    for (const [bn, buf] of prog.buffersOf) emitInit(w, buf, g.buffers.get(bn)!.shape, opts.bufferInit?.get(bn) ?? { init: "zeros" }, rand);

    const inputLines = (names: string[], ks: Kernel[]) => {
      for (const n of names) {
        const node = g.inputs.get(n)!;
        const type = node.dtype === g.dtype ? "" : `, ${ARRAY_OF[node.dtype]}`;
        w.line(`const ${prog.inputLocals.get(n)} = input(${inputs}, ${JSON.stringify(n)}, ${size(node.shape)}${type});`);
      }
      // int32 inputs against the ranges of the ops that read them, before anything runs or changes
      for (const line of rangeChecks(g, names, (n) => prog.inputLocals.get(n)!)) w.line(line);
      for (const n of names) {
        const local = prog.inputLocals.get(n)!;
        const copy = prog.inputCopies.get(local);
        if (copy && ks.some((k) => k.simd && bufferReads(k.simd.plan).includes(local))) w.line(`if (${wk}) ${copy}.set(${local});`);
      }
    };
    const kernels = (ks: Kernel[]) => {
      let phase: string | undefined;
      const heading = {
        forward: "// ---- forward ----",
        backward: "// ---- backward: the chain rule, from the loss back to every parameter ----",
        state: "// ---- buffers: the batch statistics their new values need (training mode only) ----",
        update: "// ---- buffers: their new values, written after the gradients (training mode only) ----",
      };
      // an entry point that begins with the forward pass's run of kernels calls it
      const viaRun = run && ks !== run.kernels && run.kernels.every((r, j) => ks[j] === r);
      for (const [i, k] of ks.entries()) {
        const p = k.updates ? "update" : k.forState ? "state" : k.backward ? "backward" : "forward";
        if (p !== phase && ks.some((q) => q.backward)) {
          w.line("");
          w.line(heading[p]);
          phase = p;
        }
        if (viaRun && i < run.kernels.length) {
          if (i === 0) w.line(run.call);
          continue;
        }
        if (!emitSharedCall(w, kernelSharing, k, relSite)) emitKernel(w, k, relSite, prog.namer, simdCall(k));
        if (debug) w.line(`${debug.watch}(${JSON.stringify(k.out)}, ${k.out}, ${JSON.stringify(safe(k.comment))}, ${JSON.stringify(relSite(k.site))});`);
      }
    };
    if (debug) emitWatch(w, debug);
    emitSharedFunctions(w, kernelSharing);
    if (run) {
      w.line("");
      w.line(run.comment);
      w.block(run.head, () => kernels(run.kernels));
    }

    w.line("");
    w.block(`function ${forward}(${inputs}: Partial<Inputs>): Outputs`, () => {
      if (!prog.forwardInputs.length) w.line(`void ${inputs}; // no output reads an input`);
      inputLines(prog.forwardInputs, prog.forward);
      kernels(prog.forward);
      w.line(`return { ${[...prog.outputs].map(([k, b]) => `${JSON.stringify(k)}: ${b}`).join(", ")} };`);
    });
    w.line("");
    w.block(`function ${lossAndGrad}(${inputs}: Inputs): number`, () => {
      if (!prog.loss) {
        w.line(`void ${inputs};`);
        w.line(`throw new Error(\`\${spec.name}: the model returns no loss, so it has nothing to differentiate\`);`);
        return;
      }
      inputLines(prog.trainInputs, prog.train);
      if (debug) {
        w.line(`${debug.step}++;`);
        w.line(`${debug.lastStats} = {};`);
      }
      kernels(prog.train);
      w.line(`return ${prog.loss}[0]!;`);
    });
    w.line("");
    w.block(`function ${evalLoss}(${inputs}: Inputs): number`, () => {
      if (!prog.loss) {
        w.line(`void ${inputs};`);
        w.line(`throw new Error(\`\${spec.name}: the model returns no loss\`);`);
        return;
      }
      w.line("// eval mode: running statistics, no dropout; no gradients and no state changes");
      inputLines(prog.trainInputs, prog.evalLoss);
      kernels(prog.evalLoss);
      w.line(`return ${prog.evalLossBuffer}[0]!;`);
    });
    w.line("");
    w.block(`function ${step}(${inputs}: Inputs, options?: { lr?: number }): number`, () => {
      if (!prog.loss) {
        // an inference-only model: nothing to update (lossAndGrad throws, saying so)
        w.line("void options;");
        w.line(`return ${lossAndGrad}(${inputs});`);
        return;
      }
      w.line(`const ${lr} = rate(options, ${opts.optimizer.lr ?? 0.01});`);
      w.line(`const ${lossValue} = ${lossAndGrad}(${inputs});`);
      emitUpdate({ w, targets, counter, store, local: (p) => prog.namer.local(p), lr }, opts.optimizer);
      w.line(`return ${lossValue};`);
    });
    w.line("");
    w.block(`function ${reset}(): void`, () => {
      w.line("// a fresh optimizer: zero moments, momentum buffers and step count");
      for (const b of prog.buffers.filter((b) => b.role === "optimizer")) w.line(`${b.name}.fill(0);`);
    });
    w.line("");
    w.line("// checkpoints (safetensors): each tensor's key, shape and arena view");
    w.line(`const ${pt}: Tensor[] = [${paramTensors.join(", ")}];`);
    w.line(`const ${st}: Tensor[] = [...${pt}, ${stateTensors.join(", ")}];`);
    w.line("");
    const obj = (m: Map<string, string>) => `{ ${[...m].map(([k, b]) => `${JSON.stringify(k)}: ${b}`).join(", ")} }`;
    if (debug) emitStats(w, prog, debug);
    const members = [
      `params: ${obj(prog.params)}`,
      `grads: ${prog.loss ? obj(prog.grads) : "{} as Params /* no loss: no gradients */"}`,
      `buffers: ${obj(prog.buffersOf)}`,
      prop("forward", forward),
      prop("lossAndGrad", lossAndGrad),
      prop("loss", evalLoss),
      prop("step", step),
      prop("resetOptimizer", reset),
      `saveParams: () => writeSafetensors(${pt})`,
      `loadParams: (bytes: Uint8Array) => readSafetensors(bytes, ${pt}, "loadParams")`,
      `saveState: () => writeSafetensors(${st})`,
      `loadState: (bytes: Uint8Array) => readSafetensors(bytes, ${st}, "loadState")`,
      `engine: ${wasm ? `${wk} ? "wasm-simd" : "js"` : '"js"'}`,
      ...(debug ? [prop("stats", debug.stats)] : []),
    ];
    w.line(`return { ${members.join(", ")} };`);
  });

  // template helpers this model never calls are left out (a user's tsconfig may have noUnusedLocals)
  const body = sf.getFunctionOrThrow("createModel").getBodyText() ?? "";
  // a helper the body does not call goes, with the helpers only it calls (erf's tail)
  const only: Record<string, string[]> = { erf: ["erfTail", "erfIo"] };
  for (const helper of ["rate", "prng", "fillUniform", "fillNormal", "checkIndices", "erf"])
    if (!new RegExp(`\\b${helper}\\(`).test(body)) for (const h of [helper, ...(only[helper] ?? [])]) (sf.getFunction(h) ?? sf.getVariableStatementOrThrow(h)).remove();
  let text = sf.getFullText().replace("MODEL_FILE", safe(opts.file)).replace(/ \(filled in\)/g, "");
  if (wasm) text += `\n/*\n * The WebAssembly SIMD kernels, as text (WAT): the module that WASM_KERNELS holds, byte for byte.\n * Addresses are bytes: 4 × the arena offsets of the buffers above.\n *\n${wasm.wat.split("\n").map((l) => ` * ${l}`.trimEnd()).join("\n")}\n */\n`;
  // the template's own explanation is for flatgrad's developers, not for the generated file
  text = text.replace(/\/\* The skeleton of every generated module\.[\s\S]*?\*\/\n/, "");
  // babel-ts prints the same as the typescript parser here, three times faster
  return prettier.format(text, { parser: "babel-ts", printWidth: 120 });
}
