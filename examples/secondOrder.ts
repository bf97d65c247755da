/**
 * The second-order examples (`npm run demo -- pinn | gradient-penalty | hvp`), each a model file
 * in examples/models/ compiled on demand:
 *
 * - pinn: u'' + u = 0 on [0, π/2], u(0) = 0, u(π/2) = 1, trained with Adam from the residual
 *   alone; prints the error against sin t on a 128-point grid and the simplifier's node counts,
 *   draws docs/pinn.svg. Exit 1 if the largest error is not below 1e-2.
 * - gradient-penalty: the seed net with λ·‖∂L/∂x‖², beside the plain seed net, on breast cancer;
 *   prints both held-out accuracies and input-gradient norms (exit 1 if the penalty did not lower it).
 * - hvp: the Hessian-vector product output against central differences of the gradient; exit 1
 *   if they differ by more than 1e-6 (relative).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { reachable } from "../src/autodiff/grad.js";
import { compile, formatDiagnostic } from "../src/compile.js";
import { buildModel } from "../src/front/build.js";
import { loadModelFile } from "../src/front/load.js";
import { pipeline } from "../src/passes/pipeline.js";
import { Batcher, loadBreastCancer, mulberry32, type Split } from "./data.js";
import { xyChart } from "./plot.js";
import { ROOT, RUNS, loadRun } from "./demo.js";

type Arr = Float32Array | Float64Array;
interface Model {
  params: Record<string, Arr>;
  grads: Record<string, Arr>;
  forward(inputs: Record<string, Arr>): Record<string, Arr>;
  lossAndGrad(inputs: Record<string, Arr>): number;
  step(inputs: Record<string, Arr>, options?: { lr?: number }): number;
}

/** Compile an example's model into the demo's cache folder and import it. */
async function load(model: string): Promise<{ createModel(o?: { seed?: number }): Model }> {
  const result = await compile({ models: [model], outDir: "node_modules/.cache/flatgrad-demo", root: ROOT });
  if (result.diagnostics.length) throw new Error(result.diagnostics.map(formatDiagnostic).join("\n"));
  return import(pathToFileURL(path.resolve(ROOT, result.files[0]!.path)).href);
}

/** Nodes the compiled graph reaches after differentiation and after the simplifier (and folding). */
export async function nodeCounts(model: string): Promise<{ differentiated: number; simplified: number }> {
  const loaded = await loadModelFile(path.resolve(ROOT, model));
  let g = buildModel(loaded.exported, "m", loaded.file, loaded.source).graph;
  let differentiated = 0;
  for (const p of pipeline) {
    g = p.run(g, { rewrites: [] });
    if (p.name === "differentiate") differentiated = reachable(g).length;
  }
  return { differentiated, simplified: reachable(g).length };
}

export const PINN = { model: "examples/models/pinn.model.ts", steps: 4000, grid: 128 };

/** Train the PINN; the solution on a grid, its error against sin t, and the loss every 50 steps. */
export async function trainPinn(steps = PINN.steps) {
  const { createModel } = await load(PINN.model);
  const m = createModel({ seed: 0 });
  const half = Math.PI / 2;
  const t = Float64Array.from({ length: 32 }, (_, i) => (half * i) / 31);
  const inputs = { t, tb: Float64Array.from([0, half]), ub: Float64Array.from([0, 1]) };
  const losses: number[] = [];
  for (let s = 1; s <= steps; s++) {
    const loss = m.step(inputs);
    if (s % 50 === 0) losses.push(loss);
  }
  const grid = Float64Array.from({ length: PINN.grid }, (_, i) => (half * i) / (PINN.grid - 1));
  const u = new Float64Array(PINN.grid);
  for (let b = 0; b < PINN.grid; b += 32) u.set(m.forward({ t: grid.subarray(b, b + 32) }).u!, b);
  const err = u.map((v, i) => Math.abs(v - Math.sin(grid[i]!)));
  return { grid, u, err, maxErr: Math.max(...err), rmsErr: Math.sqrt(err.reduce((a, e) => a + e * e, 0) / err.length), losses, finalLoss: losses[losses.length - 1]! };
}

async function pinn(): Promise<number> {
  const t0 = performance.now();
  const r = await trainPinn();
  const counts = await nodeCounts(PINN.model);
  console.log(`pinn: u'' + u = 0 on [0, π/2], u(0) = 0, u(π/2) = 1; ${PINN.steps} Adam steps in ${((performance.now() - t0) / 1000).toFixed(1)} s, final loss ${r.finalLoss.toExponential(2)}`);
  console.log(`pinn: error against sin t on ${PINN.grid} points: max ${r.maxErr.toExponential(2)}, rms ${r.rmsErr.toExponential(2)}`);
  console.log(`pinn: graph nodes after differentiation ${counts.differentiated}, after simplification ${counts.simplified} (${Math.round((100 * (counts.differentiated - counts.simplified)) / counts.differentiated)} % removed)`);
  const out = path.join(ROOT, "docs", "pinn.svg");
  mkdirSync(path.dirname(out), { recursive: true });
  const grid = [...r.grid];
  writeFileSync(
    out,
    xyChart("flatgrad: a physics-informed network for u'' + u = 0", [
      { title: "u(t): network and exact sin t", xLabel: "t", series: [{ label: "network u(t)", color: "#1f77b4", x: grid, y: [...r.u] }, { label: "exact sin t", color: "#d62728", x: grid, y: grid.map(Math.sin), dashed: true }] },
      { title: "|u(t) − sin t|", xLabel: "t", log: true, series: [{ label: "error", color: "#2ca02c", x: grid, y: [...r.err] }] },
      { title: "training loss (residual + boundary)", xLabel: "Adam step", log: true, series: [{ label: "loss", color: "#9467bd", x: r.losses.map((_, i) => 50 * (i + 1)), y: r.losses }] },
    ]),
  );
  console.log(`pinn: plot ${path.relative(process.cwd(), out) || out}`);
  return r.maxErr < 1e-2 ? 0 : 1;
}

/**
 * Train on breast cancer as the demo trains the seed net (30 epochs of 14 shuffled batches of 32,
 * seed 0) and return the held-out accuracy. Written out rather than `fit`, because the penalty
 * model's forward also computes the `penalty` output, which needs the targets.
 */
function trainBreastCancer(m: Model, data: Split): number {
  const train = new Batcher(data.train, 32, "float32");
  for (let e = 0; e < 30; e++) for (const b of train.epoch({ shuffleSeed: e })) m.step({ x: b.x, y: b.y });
  let right = 0;
  for (const b of new Batcher(data.test, 32, "float32").epoch({ remainder: "pad" })) {
    const yhat = m.forward({ x: b.x, y: b.y }).yhat!;
    for (let i = 0; i < b.rows; i++) if ((yhat[i]! >= 0.5 ? 1 : 0) === data.test.labels[b.index[i]!]) right++;
  }
  return right / data.test.rows;
}

/** The seed net trained with and without the penalty: held-out accuracy and mean per-row ‖∂ℓ/∂x‖² (measured by the penalty model's output). */
async function gradientPenalty(): Promise<number> {
  const gp = await load("examples/models/gradient-penalty.model.ts");
  const data = loadBreastCancer({ seed: 0 });
  const withPenalty = gp.createModel({ seed: 0 });
  const accWith = trainBreastCancer(withPenalty, data);
  const plain = (await loadRun(RUNS[0]!)).createModel({ seed: 0 }) as unknown as Model;
  const accWithout = trainBreastCancer(plain, data);
  // the same params in the penalty model (same names and shapes as the seed net's) measure the penalty
  const probe = gp.createModel({ seed: 0 });
  const penaltyOf = (params: Record<string, Arr>) => {
    for (const [k, v] of Object.entries(params)) probe.params[k]!.set(v);
    let sum = 0;
    let n = 0;
    for (const b of new Batcher(data.test, 32, "float32").epoch()) {
      sum += probe.forward({ x: b.x, y: b.y }).penalty![0]!;
      n++;
    }
    return sum / n;
  };
  const [pw, po] = [penaltyOf(withPenalty.params), penaltyOf(plain.params)];
  console.log(`gradient-penalty: held-out accuracy ${pct(accWith)} with the penalty (λ = 0.1), ${pct(accWithout)} without (the seed net, same data, seeds and steps)`);
  console.log(`gradient-penalty: mean per-row ‖∂ℓ/∂x‖² on held-out batches: ${pw.toFixed(4)} with the penalty, ${po.toFixed(4)} without`);
  return pw < po ? 0 : 1;
}
const pct = (v: number) => `${(100 * v).toFixed(1)} %`;

/** H·v from the model against (∇L(W + εv) − ∇L(W − εv)) / 2ε of the generated gradient. */
async function hvp(): Promise<number> {
  const { createModel } = await load("examples/models/hvp.model.ts");
  const m = createModel({ seed: 0 });
  const rand = mulberry32(1);
  const fill = (n: number) => Float64Array.from({ length: n }, () => rand() * 2 - 1);
  const inputs = { x: fill(64), y: fill(16), vW1: fill(32), vW2: fill(8) };
  const out = m.forward(inputs);
  const hv = { W1: Float64Array.from(out.hvW1!), W2: Float64Array.from(out.hvW2!) };
  const v = { W1: inputs.vW1, W2: inputs.vW2 };
  const eps = 1e-5;
  const base = { W1: Float64Array.from(m.params.W1!), W2: Float64Array.from(m.params.W2!) };
  const gradAt = (sign: number) => {
    for (const k of ["W1", "W2"] as const) m.params[k]!.forEach((_, i, a) => (a[i] = base[k][i]! + sign * eps * v[k][i]!));
    m.lossAndGrad(inputs);
    const g = { W1: Float64Array.from(m.grads.W1!), W2: Float64Array.from(m.grads.W2!) };
    for (const k of ["W1", "W2"] as const) m.params[k]!.set(base[k]);
    return g;
  };
  const [up, down] = [gradAt(1), gradAt(-1)];
  let worst = 0;
  let scale = 0;
  for (const k of ["W1", "W2"] as const)
    hv[k].forEach((a, i) => {
      const numeric = (up[k][i]! - down[k][i]!) / (2 * eps);
      worst = Math.max(worst, Math.abs(a - numeric));
      scale = Math.max(scale, Math.abs(numeric));
    });
  console.log(`hvp: H·v for ${hv.W1.length + hv.W2.length} params; largest |H·v − finite differences of ∇L| = ${worst.toExponential(2)}, relative to max |H·v| ${scale.toFixed(4)}: ${(worst / scale).toExponential(2)}`);
  return worst / scale < 1e-6 ? 0 : 1;
}

export const EXAMPLES: Record<string, () => Promise<number>> = { pinn, "gradient-penalty": gradientPenalty, hvp };
