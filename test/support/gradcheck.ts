/**
 * The gradient check shared by the registry table test and the mutation harness: compile an
 * op's sample case in float64, and compare the generated backward code with central finite
 * differences of the generated forward code (|analytic − numeric| ≤ 1e-8 + 1e-6·|numeric|).
 */
import type { Graph, Node } from "../../src/ir/graph.js";
import { size } from "../../src/ir/shape.js";
import type { OpCase } from "./ops.cases.js";
import { compileAndLoad, rng, type GeneratedModel } from "./helpers.js";
import { GRADCHECK, passes, sample } from "../../src/autodiff/gradcheck.js";

// the sampling and the tolerance live in src/ (flatgrad verify uses them on users' models)
export { sample };

/** Compile a case: params p0.., the op's value as output "out", loss = ⟨out, r⟩ for fixed weights r. */
export async function compileCase(op: string, c: OpCase, ci: number) {
  let out: Node | undefined;
  const weights = rng(99);
  const compiled = await compileAndLoad(
    {
      dtype: "float64",
      build(g) {
        const ps = c.shapes.map((s, i) => g.param(`p${i}`, s, { init: "zeros" }));
        out = c.build(g, ps);
        if (op !== "output") g.output("out", out);
        // an int32 value (argmax) has no gradient and cannot be weighted: the loss reads the first param instead
        if (out.dtype === "int32") return g.sum(g.mul(ps[0]!, g.constant(Array.from({ length: size(ps[0]!.shape) }, () => weights() * 2 - 1), [...ps[0]!.shape])));
        const n = size(out.shape);
        const r = Array.from({ length: n }, () => weights() * 2 - 1);
        // the loss ⟨out, r⟩ must not be built from the op under test: a wrong rule used twice can cancel
        // (a flipped sum rule inside Σ(out ⊙ r) flips twice and looks right)
        if (op === "sum" || op === "mul") return g.matmul(g.reshape(out, [n]), g.constant(r, [n]));
        return g.sum(g.mul(out, g.constant(r, out.shape.length ? [...out.shape] : [])));
      },
    },
    `op-${op}-${ci}`,
  );
  return { ...compiled, out: out! };
}

/**
 * The inputs of a case: floats from the "any" domain, int32 inputs from the case's `ints` draws. The
 * interpreter takes every input as a Float64Array (`oracle`), the generated module int32 ones as Int32Array.
 */
export function caseInputs(graph: Graph, c: OpCase, rand: () => number) {
  const oracle: Record<string, Float64Array> = {};
  const generated: Record<string, Float64Array | Int32Array> = {};
  for (const [name, n] of graph.inputs) {
    const draw = c.ints?.[name];
    if (n.dtype === "int32" && !draw) throw new Error(`case: int32 input "${name}" has no draw in ints`);
    oracle[name] = Float64Array.from({ length: size(n.shape) }, () => (n.dtype === "int32" ? draw!(rand) : sample("any", rand)));
    generated[name] = n.dtype === "int32" ? Int32Array.from(oracle[name]!) : oracle[name]!;
  }
  return { oracle, generated };
}

/** Fill the params of a case from its domains. */
export function fillParams(m: GeneratedModel, c: OpCase, rand: () => number): void {
  c.shapes.forEach((_, i) => {
    const p = m.params[`p${i}`]!;
    for (let k = 0; k < p.length; k++) p[k] = sample(c.domains?.[i] ?? "any", rand);
  });
}

/** Every element where analytic and numeric gradients disagree (empty: the check passes). */
export function finiteDifferences(m: GeneratedModel, inputs: Record<string, Float64Array | Int32Array>, c: OpCase): string[] {
  const failures: string[] = [];
  m.lossAndGrad(inputs);
  const grads = Object.fromEntries(Object.entries(m.grads).map(([k, v]) => [k, Float64Array.from(v)]));
  const h = GRADCHECK.h;
  for (const [k, p] of Object.entries(m.params)) {
    for (let i = 0; i < p.length; i++) {
      const v = p[i]!;
      p[i] = v + h;
      const up = m.lossAndGrad(inputs);
      p[i] = v - h;
      const down = m.lossAndGrad(inputs);
      p[i] = v;
      const numeric = (up - down) / (2 * h);
      const analytic = grads[k]![i]!;
      if ((c.zeroGrad || c.stopsGradient) && analytic !== 0) failures.push(`${k}[${i}]: analytic ${analytic}, expected exactly 0`);
      if (c.stopsGradient) continue;
      if (!passes(analytic, numeric)) failures.push(`${k}[${i}]: analytic ${analytic}, numeric ${numeric}`);
    }
  }
  return failures;
}

/** The whole check of one case and seed: compile, fill, compare. */
export async function gradientCheck(op: string, c: OpCase, ci: number, seed: number): Promise<string[]> {
  let compiled;
  try {
    compiled = await compileCase(op, c, ci);
  } catch (e) {
    return [`does not compile: ${(e as Error).message.split("\n")[0]}`];
  }
  const m = compiled.mod.createModel();
  const rand = rng(seed * 1000 + ci);
  fillParams(m, c, rand);
  const inputs = caseInputs(compiled.graph, c, rand).generated;
  try {
    return finiteDifferences(m, inputs, c);
  } catch (e) {
    return [`throws: ${(e as Error).message.split("\n")[0]}`];
  }
}
