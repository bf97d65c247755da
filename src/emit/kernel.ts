/** One kernel of an entry point as it appears in the module: its comment line, its loops, and its SIMD call where it has one; and a param's initialisation. */
import { CodeBlockWriter } from "ts-morph";
import { size, type Site } from "../ir/shape.js";
import type { Kernel } from "../lower/program.js";
import type { KernelWriter } from "../lower/view.js";
import type { Namer } from "../lower/namer.js";
import { fans } from "../ops/sources.js";
import type { Attrs } from "../ops/types.js";
import { simdHow } from "../wasm/plan.js";

/** Text that is safe inside a line comment. */
export const safe = (s: string) => s.replace(/[\r\n\u2028\u2029]/g, " ");
export const dims = (s: readonly number[]) => (s.length ? `[${s.join("×")}]` : "scalar");

export function writerFor(cw: CodeBlockWriter, namer: Namer, random?: string): KernelWriter {
  const kw: KernelWriter = {
    ...(random !== undefined && { random }),
    line: (t) => void cw.writeLine(t),
    block: (head, body) => void cw.write(`${head} `).block(body),
    loop: (name, extent, body) => kw.block(`for (let ${name} = 0; ${name} < ${extent}; ${name}++)`, body),
    local: (preferred) => namer.local(preferred),
  };
  return kw;
}

/** How a kernel with a SIMD plan calls its WebAssembly function: the kernels' object, the function, its arguments. */
export interface SimdCall {
  kernels: string;
  name: string;
  args: readonly string[];
}

/** A kernel's comment line: its math, its shape and its model line. */
export const kernelComment = (k: Kernel, relSite: (s: Site | undefined) => string) => `// ${safe(k.comment)}   ${dims(k.node.shape)}   ${relSite(k.site)}`;

export function emitKernel(w: KernelWriter, k: Kernel, relSite: (s: Site | undefined) => string, namer: Namer, simd?: SimdCall): void {
  w.line("");
  w.line(kernelComment(k, relSite));
  kernelBody(w, k, namer, simd);
}

/** A kernel's statements as the body of a function (for kernel sharing, src/emit/share.ts). */
export function renderBody(k: Kernel, namer: Namer, random: string | undefined, simd?: SimdCall): string {
  const cw = new CodeBlockWriter({ indentNumberOfSpaces: 2 });
  kernelBody(writerFor(cw, namer, random), k, namer, simd, true);
  return cw.toString();
}

/** A kernel's statements: its loops, or its SIMD call with the loops as the fallback. `scoped`: the body is a function's, so its names need no block of their own. */
export function kernelBody(w: KernelWriter, k: Kernel, namer: Namer, simd?: SimdCall, scoped = false): void {
  const loops = () => {
    const sub = new CodeBlockWriter({ indentNumberOfSpaces: 2 });
    k.emit(writerFor(sub, namer, w.random));
    const body = sub.toString();
    // a kernel that declares names at its top level gets a block of its own
    if (!scoped && /^(let|const) /m.test(body.split("\n").filter((l) => !l.startsWith(" ")).join("\n"))) w.block("", () => body.trimEnd().split("\n").forEach((l) => w.line(l)));
    else body.trimEnd().split("\n").forEach((l) => w.line(l));
  };
  if (!simd || !k.simd) return loops();
  const { plan, product, epilogue } = k.simd;
  w.block(`if (${simd.kernels})`, () => {
    const how = simdHow(plan);
    w.line(`// ${k.out} ← ${safe(product)} in WebAssembly SIMD (${how})${epilogue ? ", then the rest of the equation in place" : ""}`);
    w.line(`${simd.kernels}.${simd.name}(${simd.args.join(", ")});`);
    if (epilogue) epilogue(w);
  });
  w.block("else", loops);
}

export function emitInit(w: KernelWriter, buf: string, shape: readonly number[], init: Attrs, rand: string): void {
  const kind = init.init as string;
  const { fanIn, fanOut } = fans(shape);
  switch (kind) {
    case "zeros":
      return w.line(`// ${buf}: zeros (the arena starts at zero)`);
    case "ones":
      return w.line(`${buf}.fill(1); // ones`);
    case "xavier": {
      const lim = Math.sqrt(6 / (fanIn + fanOut));
      return w.line(`fillUniform(${buf}, ${-lim}, ${lim}, ${rand}); // xavier: U(±√(6/(fan_in + fan_out))), fan_in = ${fanIn}, fan_out = ${fanOut}`);
    }
    case "he":
      return w.line(`fillNormal(${buf}, ${Math.sqrt(2 / fanIn)}, ${rand}); // he: N(0, 2/fan_in), fan_in = ${fanIn}`);
    case "normal": {
      const std = (init.std as number | undefined) ?? 0.01;
      return w.line(`fillNormal(${buf}, ${std}, ${rand}); // normal: N(0, ${std}²)`);
    }
    case "uniform": {
      const low = (init.low as number | undefined) ?? -0.05;
      const high = (init.high as number | undefined) ?? 0.05;
      return w.line(`fillUniform(${buf}, ${low}, ${high}, ${rand}); // uniform: U(${low}, ${high})`);
    }
    default:
      throw new Error(`internal: unknown init ${kind}`);
  }
}
