/**
 * `explain`: the forward graph and the derived backward graph as numbered equations in the
 * tutorial's notation, with shapes and model-file lines, plus the rewrites that were applied
 * (simplifications, fusions, stabilisations); or the same graph as Graphviz DOT or Mermaid.
 */
import path from "node:path";
import { buildModel } from "../front/build.js";
import { loadModelFile } from "../front/load.js";
import { BYTES, orderOf, topo, type Graph, type Node } from "../ir/graph.js";
import { lower } from "../lower/pipeline.js";
import type { Kernel, Program } from "../lower/program.js";
import { runPipeline, type PassLog } from "../passes/pipeline.js";
import { baseName } from "../compile.js";
import { stateRoles } from "../optim/update.js";
import { convHow } from "../wasm/conv.js";
import { mapHow } from "../wasm/map.js";

export type ExplainFormat = "text" | "dot" | "mermaid";

const posix = (p: string) => p.split(path.sep).join("/");
const dims = (s: readonly number[]) => (s.length ? `[${s.join("×")}]` : "scalar");

export interface Explained {
  program: Program;
  /** Bytes of the arena that hold optimizer state. */
  optimizerState: number;
  rewrites: string[];
  stabilisations: string[];
  file: string;
}

export async function analyse(file: string, root: string): Promise<Explained> {
  const loaded = await loadModelFile(file);
  const built = buildModel(loaded.exported, baseName(file), loaded.file, loaded.source);
  const rel = posix(path.relative(root, loaded.file));
  const at = (g: Graph, n: Parameters<Graph["ctx"]["sites"]["get"]>[0]) => {
    const s = g.ctx.sites.get(n);
    return s ? `${rel}:${s.line}` : rel;
  };
  // stabilisations are visible in the graph as built, before simplification removes their markers
  const stabilisations: string[] = [];
  const g0 = built.graph;
  for (const n of topo([...g0.outputs.values(), ...(g0.loss ? [g0.loss] : [])])) {
    if (n.op === "stopGradient" && n.inputs[0]!.op === "max") stabilisations.push(`softmax/logSoftmax: exponents shifted by the row max (x − max x ≤ 0, so exp never overflows), the shift's gradient stopped (it is 0)   ${at(g0, n)}`);
    if (n.op === "logSumExp") stabilisations.push(`logSumExp: m + log Σ exp(x − m), m the maximum (every exponent ≤ 0, so exp never overflows)   ${at(g0, n)}`);
    if (n.op === "softplus") stabilisations.push(`softplus(z) = max(z, 0) + log1p(e^−|z|): exact for |z| = 1000 (bceWithLogits = softplus(z) − z·t)   ${at(g0, n)}`);
    if (n.op === "sigmoid") stabilisations.push(`σ(z) by two branches whose exponents are ≤ 0   ${at(g0, n)}`);
    if (n.op === "bceTerm") stabilisations.push(`bce: logs clamped at −100, gradient (p − t)/max(p(1 − p), 1e-12) as in PyTorch   ${at(g0, n)}`);
  }
  const log: PassLog = { rewrites: [] };
  const graph = runPipeline(built.graph, log);
  const program = lower(graph, { optimizerState: stateRoles(built.optimizer) });
  // one line per law and model-file line, with a count
  const counts = new Map<string, number>();
  for (const r of log.rewrites) {
    const key = `${r.law}   ${r.site ? `${posix(path.relative(root, r.site.file))}:${r.site.line}` : rel}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const rewrites = [...counts].map(([k, c]) => (c > 1 ? `${k}   (×${c})` : k));
  const optimizerState = program.buffers.filter((b) => b.role === "optimizer").reduce((n, b) => n + b.size * BYTES[b.dtype], 0);
  return { program, optimizerState, rewrites, stabilisations: [...new Set(stabilisations)], file: rel };
}

const ORDINAL = ["", "first", "second", "third", "fourth"];

/** Every kernel of lossAndGrad (or forward, for an inference-only model), numbered. */
function kernelsOf(p: Program): Kernel[] {
  return p.train.length ? [...p.train, ...p.forward.filter((k) => !p.train.includes(k))] : p.forward;
}

export function explainText(x: Explained): string {
  const p = x.program;
  const g = p.graph;
  const lines: string[] = [];
  const site = (k: Kernel) => (k.site ? `${x.file}:${k.site.line}` : x.file);
  lines.push(`${g.name} (${x.file}), ${g.dtype}`);
  lines.push("");
  lines.push("inputs");
  for (const [n, node] of g.inputs) lines.push(`  ${n}  ${dims(node.shape)}`);
  lines.push("params");
  for (const [n, node] of g.params) lines.push(`  ${n}  ${dims(node.shape)}`);
  if (g.buffers.size) lines.push("buffers (not trained; training mode updates them)");
  for (const [n, node] of g.buffers) lines.push(`  ${n}  ${dims(node.shape)}`);
  let i = 1;
  const section = (title: string, ks: Kernel[]) => {
    if (!ks.length) return;
    lines.push("");
    lines.push(title);
    for (const k of ks) lines.push(`  (${i++}) ${k.comment}   ${dims(k.node.shape)}   ${site(k)}`);
  };
  const all = kernelsOf(p);
  const memo = new Map<Node, number>();
  const ord = (k: Kernel) => orderOf(g.ctx, k.node, memo);
  const top = Math.max(0, ...all.map(ord));
  if (top <= 1) {
    section("forward", all.filter((k) => !k.backward));
    section("backward (chain rule, from the loss back to each parameter)", all.filter((k) => k.backward && !k.forState && !k.updates));
  } else {
    // a model with g.grad: the derivatives it computes are part of its forward, and the backward differentiates them
    // again; each kernel is sectioned by what it differentiates (src/ir/graph.ts, Ctx.order)
    const what = (o: number) => (o === 1 ? "differentiating the forward (first derivatives)" : `differentiating ${ORDINAL[o - 1] ?? `order-${o - 1}`} derivatives again (order ${o})`);
    section("forward", all.filter((k) => !k.backward && ord(k) === 0));
    for (let o = 1; o <= top; o++) section(`forward, g.grad: ${what(o)}`, all.filter((k) => !k.backward && ord(k) === o));
    for (let o = 1; o <= top; o++) section(`backward: ${what(o)}`, all.filter((k) => k.backward && !k.forState && !k.updates && ord(k) === o));
  }
  section("buffers (training mode: batch statistics, then each buffer's new value, written after the gradients)", all.filter((k) => k.forState || k.updates));
  lines.push("");
  lines.push("results");
  for (const [o, b] of p.outputs) lines.push(`  output ${o} = ${b}`);
  if (p.loss) lines.push(`  loss = ${p.loss}`);
  for (const [pn, b] of p.grads) lines.push(`  dL/d${pn} = ${b}`);
  lines.push("");
  lines.push("rewrites");
  for (const r of x.rewrites) lines.push(`  ${r.includes("(stabilised)") ? "stabilise" : "simplify"}: ${r}`);
  for (const k of all) if (k.fused.length) lines.push(`  fuse: ${k.fused.join(" → ")} in one loop nest: ${k.out}   ${site(k)}`);
  for (const k of all)
    if (k.simd) lines.push(`  simd: ${k.out} ← ${k.simd.product} in WebAssembly, ${k.simd.plan.kind === "map" ? mapHow(k.simd.plan) : k.simd.plan.kind === "conv" ? convHow(k.simd.plan) : `f32x4 ${k.simd.plan.mode === "along-j" ? "along the columns" : "along k"}`}   ${site(k)}`);
  for (const s of x.stabilisations) lines.push(`  stabilise: ${s}`);
  lines.push("");
  lines.push(`arena: ${p.arenaBytes.toLocaleString("en-US")} bytes, of which ${x.optimizerState.toLocaleString("en-US")} of optimizer state`);
  return lines.join("\n") + "\n";
}

interface Drawn {
  nodes: { id: string; label: string; kind: "source" | "forward" | "backward" }[];
  edges: { from: string; to: string; backward: boolean }[];
}

function draw(x: Explained): Drawn {
  const p = x.program;
  const g = p.graph;
  const ids = new Map<string, string>();
  const id = (name: string) => {
    if (!ids.has(name)) ids.set(name, `n${ids.size}`);
    return ids.get(name)!;
  };
  const nodes: Drawn["nodes"] = [];
  for (const [n, node] of g.inputs) nodes.push({ id: id(p.inputLocals.get(n)!), label: `${n} ${dims(node.shape)}`, kind: "source" });
  for (const [n, node] of g.params) nodes.push({ id: id(p.params.get(n)!), label: `${n} ${dims(node.shape)}`, kind: "source" });
  const edges: Drawn["edges"] = [];
  const constants = new Set(p.buffers.filter((b) => b.role === "constant").map((b) => b.name));
  for (const k of kernelsOf(p)) {
    nodes.push({ id: id(k.out), label: `${k.comment} ${dims(k.node.shape)}`, kind: k.backward ? "backward" : "forward" });
    for (const r of [...k.reads].sort()) if (!constants.has(r) && r !== k.out) edges.push({ from: id(r), to: id(k.out), backward: k.backward });
  }
  const seen = new Set<string>();
  return { nodes: nodes.filter((n) => !seen.has(n.id) && seen.add(n.id)), edges };
}

export function explainDot(x: Explained): string {
  const d = draw(x);
  const q = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  const out = [`digraph ${q(x.program.graph.name)} {`, "  rankdir=TB;", '  node [shape=box, fontname="monospace"];'];
  for (const n of d.nodes) out.push(`  ${n.id} [label=${q(n.label)}${n.kind === "source" ? ", shape=ellipse" : n.kind === "backward" ? ', color="#c0392b"' : ""}];`);
  for (const e of d.edges) out.push(`  ${e.from} -> ${e.to}${e.backward ? ' [style=dashed, color="#c0392b"]' : ""};`);
  out.push("}");
  return out.join("\n") + "\n";
}

export function explainMermaid(x: Explained): string {
  const d = draw(x);
  const q = (s: string) => `"${s.replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;")}"`;
  const out = ["flowchart TD"];
  for (const n of d.nodes) out.push(`  ${n.id}${n.kind === "source" ? `([${q(n.label)}])` : `[${q(n.label)}]`}`);
  for (const e of d.edges) out.push(`  ${e.from} ${e.backward ? "-.->" : "-->"} ${e.to}`);
  out.push("  classDef backward stroke:#c0392b,stroke-dasharray:4 2;");
  const back = d.nodes.filter((n) => n.kind === "backward").map((n) => n.id);
  if (back.length) out.push(`  class ${back.join(",")} backward;`);
  return out.join("\n") + "\n";
}

export async function explain(file: string, root: string, format: ExplainFormat = "text"): Promise<string> {
  const x = await analyse(file, root);
  return format === "dot" ? explainDot(x) : format === "mermaid" ? explainMermaid(x) : explainText(x);
}
