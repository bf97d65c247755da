/**
 * Debug builds: after every kernel its output is checked for NaN/Infinity and summarised, and
 * `stats()` returns the summaries with ‖dL/dW‖/‖W‖ per parameter.
 */
import type { SourceFile } from "ts-morph";
import type { Program } from "../lower/program.js";
import type { KernelWriter } from "../lower/view.js";

/** An object literal's property, shorthand when the value is a local of the same name. */
export const prop = (key: string, value: string) => (key === value ? key : `${key}: ${value}`);

/** The debug build's names in `createModel`'s scope. */
export interface DebugNames {
  watch: string;
  step: string;
  lastStats: string;
  stats: string;
}

/** The types `stats()` returns, and the method on `Model`. */
export function addDebugTypes(sf: SourceFile): void {
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

/** The state of the checks and the function every kernel's output goes through. */
export function emitWatch(w: KernelWriter, d: DebugNames): void {
  w.line("");
  w.line("// ---- debug build: after every kernel, its output is checked for NaN/Infinity and summarised for stats() ----");
  w.line(`let ${d.step} = 0;`);
  w.line(`let ${d.lastStats}: Record<string, TensorStats> = {};`);
  // its own parameters and locals shadow nothing it reads (it reads only them, spec and the names above)
  // `Arr | Int32Array`: an int32 kernel output (argmax) is watched too
  w.block(`function ${d.watch}(name: string, a: Arr | Int32Array, equation: string, where: string): void`, () => {
    w.line("let min = Infinity;");
    w.line("let max = -Infinity;");
    w.line("let sum = 0;");
    w.line("let sq = 0;");
    w.block("for (let i = 0; i < a.length; i++)", () => {
      w.line("const v = a[i]!;");
      w.line(
        "if (!Number.isFinite(v)) throw new Error(`${spec.name}: ${name}[${i}] = ${v} after step ${" +
          d.step +
          "}: ${equation}   (${where}). It is the first non-finite value: look at the inputs of this step.`);",
      );
      w.line("if (v < min) min = v;");
      w.line("if (v > max) max = v;");
      w.line("sum += v;");
      w.line("sq += v * v;");
    });
    w.line(`${d.lastStats}[name] = { min, max, mean: sum / a.length, norm: Math.sqrt(sq) };`);
  });
}

export function emitStats(w: KernelWriter, prog: Program, d: DebugNames): void {
  const norm = w.local("norm");
  const ratios = w.local("gradToParam");
  w.block(`function ${d.stats}(): ModelStats`, () => {
    if (prog.loss) w.line(`const ${norm} = (a: Arr) => Math.sqrt(a.reduce((s, v) => s + v * v, 0));`);
    w.line("// ‖dL/dW‖ / ‖W‖ per layer: exploding gradients show as large ratios, vanishing ones as tiny ratios");
    const ratio = ([k, b]: [string, string]) => `${JSON.stringify(k)}: ${norm}(${prog.grads.get(k)}) / ${norm}(${b})`;
    w.line(`const ${ratios}: Record<string, number> = { ${prog.loss ? [...prog.params].map(ratio).join(", ") : ""} };`);
    w.line(`return { step: ${d.step}, tensors: { ...${d.lastStats} }, ${prop("gradToParam", ratios)} };`);
  });
}
