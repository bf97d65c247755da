/**
 * The gradient check shared by the registry table test and the mutation harness: compile an
 * op's sample case in float64, and compare the generated backward code with central finite
 * differences of the generated forward code (|analytic − numeric| ≤ 1e-8 + 1e-6·|numeric|).
 */
import type { Node } from "../../src/ir/graph.js";
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

/** Fill the params of a case from its domains. */
export function fillParams(m: GeneratedModel, c: OpCase, rand: () => number): void {
  c.shapes.forEach((_, i) => {
    const p = m.params[`p${i}`]!;
    for (let k = 0; k < p.length; k++) p[k] = sample(c.domains?.[i] ?? "any", rand);
  });
}

/** Every element where analytic and numeric gradients disagree (empty: the check passes). */
export function finiteDifferences(m: GeneratedModel, inputs: Record<string, Float64Array>, c: OpCase): string[] {
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
  const inputs: Record<string, Float64Array> = {};
  for (const [name, n] of compiled.graph.inputs) inputs[name] = Float64Array.from({ length: size(n.shape) }, () => sample("any", rand));
  try {
    return finiteDifferences(m, inputs, c);
  } catch (e) {
    return [`throws: ${(e as Error).message.split("\n")[0]}`];
  }
}
