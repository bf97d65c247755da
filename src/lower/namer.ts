/** Identifiers for the generated module: readable, unique, and never an internal or reserved word. */
const INTERNAL = new Set(
  ("arena rand options inputs model params grads spec lr rate lossValue input prng fillUniform fillNormal fillConst forward lossAndGrad step " +
    "acc aip best where o v p i j k gi mi sq coef Math Number Object Array Error Float32Array Float64Array ArrayType Arr Inputs Params Outputs Model " +
    "createModel undefined NaN Infinity arguments eval this").split(" "),
);
import { RESERVED } from "../ir/names.js";

/** Kernel locals: loop indices, batch indices, temporaries, matmul accumulators and loads. */
const PATTERN = /^(i|bi|tmp|acc|ai|bj|ra|cb)\d+$/;

export class Namer {
  private used = new Set<string>();
  claim(preferred: string): string {
    let base = preferred.replace(/[^A-Za-z0-9_]/g, "_");
    if (!/^[A-Za-z_]/.test(base)) base = `_${base}`;
    let name = base;
    for (let k = 2; this.used.has(name) || INTERNAL.has(name) || RESERVED.has(name) || PATTERN.test(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }
}
