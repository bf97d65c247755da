/**
 * `flatgrad export --torch`: a model as a PyTorch `nn.Module`, written from the same graph the
 * compiler differentiates (after the stabilising rewrites, before differentiation). Each op
 * says how PyTorch spells it (`torch` in its op file); PyTorch's autograd then gives the
 * gradients, so the exported module is an independent check of flatgrad's backward as well as
 * the way to train a model on many machines.
 */
import type { OptimizerConfig } from "../dsl/define.js";
import type { BuiltModel } from "../front/build.js";
import { topo, type Graph, type Node } from "../ir/graph.js";
import { FlatgradError, size, type Site } from "../ir/shape.js";
import { primitive } from "../ops/index.js";
import { fans } from "../ops/sources.js";
import { OPTIMIZERS } from "../optim/index.js";
import { pipeline } from "../passes/pipeline.js";

/** The passes the export keeps: the graph as built, checked and stabilised, not yet differentiated. */
const FORWARD_PASSES = ["verify", "stabilise"];

export function forwardGraph(g: Graph): Graph {
  let out = g;
  for (const p of pipeline) {
    if (p.name === "differentiate") break;
    if (FORWARD_PASSES.includes(p.name)) out = p.run(out, { rewrites: [] });
  }
  return out;
}

const PY_RESERVED = new Set(
  ("False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda " +
    "nonlocal not or pass raise return try while with yield self torch math inputs F").split(" "),
);
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A Python literal for a number (repr-exact: JavaScript's shortest round-trip form is Python's too). */
export const pyNum = (v: number): string => (Number.isNaN(v) ? `float("nan")` : !Number.isFinite(v) ? `float("${v > 0 ? "inf" : "-inf"}")` : Number.isInteger(v) && Math.abs(v) < 2 ** 53 ? `${v}.0` : String(v));
const pyTuple = (xs: readonly number[]) => `(${xs.map((x) => `${x},`).join(" ")})`;

/** Python names for the graph's values: the model file's variable names where it has them, unique, never reserved. */
class PyNames {
  private used = new Set<string>();
  private of = new Map<Node, string>();
  constructor(private hints: ReadonlyMap<Node, string>) {}
  get(n: Node): string {
    const found = this.of.get(n);
    if (found) return found;
    let base = (this.hints.get(n) ?? `t${n.id}`).replace(/[^A-Za-z0-9_]/g, "_");
    if (!IDENT.test(base) || PY_RESERVED.has(base)) base = `v_${base}`;
    let name = base;
    for (let i = 2; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    this.of.set(n, name);
    return name;
  }
}

/** How a dotted param or buffer name is read in `forward`: `self.conv1.weight`, or get_parameter for other paths. */
function attrPath(kind: "param" | "buffer", name: string): string {
  const segs = name.split(".");
  if (segs.every((s) => IDENT.test(s) && !PY_RESERVED.has(s) && !s.startsWith("_"))) return `self.${segs.join(".")}`;
  return `self.${kind === "param" ? "get_parameter" : "get_buffer"}(${JSON.stringify(name)})`;
}

const TORCH_DTYPE = { float32: "torch.float32", float64: "torch.float64", int32: "torch.long" } as const;

/** The init of a param or buffer as PyTorch calls on `t` (the same distributions as the generated module's `createModel`). */
function initCall(t: string, shape: readonly number[], init: Record<string, unknown> | undefined, dflt: string): string {
  const kind = (init?.init as string | undefined) ?? dflt;
  const { fanIn, fanOut } = fans(shape);
  switch (kind) {
    case "zeros":
      return `torch.nn.init.zeros_(${t})`;
    case "ones":
      return `torch.nn.init.ones_(${t})`;
    case "xavier": {
      const lim = Math.sqrt(6 / (fanIn + fanOut));
      return `torch.nn.init.uniform_(${t}, ${pyNum(-lim)}, ${pyNum(lim)})  # xavier, fan_in ${fanIn}, fan_out ${fanOut}`;
    }
    case "he":
      return `torch.nn.init.normal_(${t}, 0.0, ${pyNum(Math.sqrt(2 / fanIn))})  # he, fan_in ${fanIn}`;
    case "normal":
      return `torch.nn.init.normal_(${t}, 0.0, ${pyNum((init?.std as number | undefined) ?? 0.01)})`;
    case "uniform":
      return `torch.nn.init.uniform_(${t}, ${pyNum((init?.low as number | undefined) ?? -0.05)}, ${pyNum((init?.high as number | undefined) ?? 0.05)})`;
    default:
      throw new Error(`internal: unknown init ${kind}`);
  }
}

/** `make_optimizer(model)`: the model file's optimizer with its hyperparameters, as torch.optim. */
function optimizerLines(cfg: OptimizerConfig): string[] {
  const c = cfg as unknown as Record<string, number | boolean | undefined>;
  const def = OPTIMIZERS[cfg.type];
  const snake = (k: string) => k.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`);
  const val = (v: number | boolean) => (typeof v === "boolean" ? (v ? "True" : "False") : pyNum(v));
  const args: string[] = [];
  for (const k of Object.keys(def.fields)) {
    const v = c[k];
    if (v === undefined || k === "clipGradNorm" || k === "beta2") continue;
    if (k === "beta1") args.push(`betas=(${val(v)}, ${val(c.beta2 as number)})`);
    else args.push(`${snake(k)}=${val(v)}`);
  }
  const lines = [
    "def make_optimizer(model):",
    `    """The model file's optimizer (${cfg.type}) as ${def.torch}."""`,
    `    return ${def.torch}(model.parameters(), ${args.join(", ")})`,
  ];
  if (c.clipGradNorm !== undefined) {
    lines.push(
      "",
      "",
      `CLIP_GRAD_NORM = ${val(c.clipGradNorm)}`,
      "",
      "",
      "def clip_gradients(model):",
      '    """What flatgrad\'s step does before the update: call it between backward() and step()."""',
      "    return torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP_GRAD_NORM)",
    );
  }
  return lines;
}

/** The argmax-mask and overlap-add helpers the torch rules may call. */
const PRELUDE = `def _argmax_mask(x, axes):
    """1 at the first maximum (row-major over \`axes\`) of each slice, 0 elsewhere (no gradient)."""
    rest = [d for d in range(x.dim()) if d not in axes]
    moved = x.permute(*rest, *axes)
    flat = moved.reshape(*moved.shape[: len(rest)], -1)
    mask = torch.zeros_like(flat).scatter_(-1, flat.argmax(dim=-1, keepdim=True), 1.0).reshape(moved.shape)
    return mask.permute(*sorted(range(x.dim()), key=lambda d: (rest + list(axes)).index(d))).detach()


def _normalize_grad(x, dy, axes, eps):
    """dx of (x − mean)/√(var + eps) over \`axes\` (biased variance) given dy, in closed form: batch norm's
    axes are all but 1, layer norm's the last ones."""
    mean = x.mean(dim=axes, keepdim=True)
    s = 1 / torch.sqrt(((x - mean) ** 2).mean(dim=axes, keepdim=True) + eps)
    xhat = (x - mean) * s
    return s * (dy - dy.mean(dim=axes, keepdim=True) - xhat * (dy * xhat).mean(dim=axes, keepdim=True))


def _attention_probs(q, k, causal, scale):
    """softmax(q·kᵀ·scale) over the keys; with causal, query i reads keys j <= i (top-left aligned)."""
    s = torch.matmul(q, k.transpose(-1, -2)) * scale
    if causal:
        lq, lk = s.shape[-2], s.shape[-1]
        s = s.masked_fill(torch.ones(lq, lk, dtype=torch.bool).triu(1), float("-inf"))
    return torch.softmax(s, dim=-1)`;

export interface TorchExport {
  /** The Python source of `<base>.py`. */
  text: string;
}

/** The PyTorch module of a built model (`file`: the model file, relative to the project root, for comments). */
export function exportTorch(built: BuiltModel, file: string): TorchExport {
  const g = forwardGraph(built.graph);
  const { ctx } = g;
  const dtype = TORCH_DTYPE[g.dtype];
  const names = new PyNames(ctx.names);
  const lineOf = (n: Node): number | undefined => (ctx.sites.get(n) as Site | undefined)?.line;

  const mainRoots = [...g.outputs.values(), ...(g.loss ? [g.loss] : [])];
  const main = topo(mainRoots);
  const inMain = new Set(main);
  const updateOnly = topo([...g.updates.values()]).filter((n) => !inMain.has(n));

  // a value used once per forward: inputs by name, params and buffers by attribute path, the rest assigned once
  const refs = new Map<Node, string>();
  const ref = (n: Node) => refs.get(n) ?? names.get(n);
  const neededInputs: string[] = [];
  const body = (nodes: Node[], indent: string): string[] => {
    const out: string[] = [];
    let lastLine: number | undefined;
    for (const n of nodes) {
      const def = primitive(n.op);
      const source = def.lower.kind === "source" ? def.lower.source : undefined;
      const name = n.attrs.name as string | undefined;
      if (source === "param" || source === "buffer") {
        refs.set(n, attrPath(source, name!));
        continue;
      }
      if (source === "input") {
        if (!neededInputs.includes(name!)) neededInputs.push(name!);
        out.push(`${indent}${names.get(n)} = inputs[${JSON.stringify(name)}]`);
        continue;
      }
      let expr: string;
      if (source === "constant") {
        const v = n.attrs.values as number[];
        expr = v.length === 1 ? `torch.full(${pyTuple(n.shape)}, ${pyNum(v[0]!)}, dtype=${dtype})` : `torch.tensor([${v.map(pyNum).join(", ")}], dtype=${dtype}).reshape(${pyTuple(n.shape)})`;
      } else if (n.op === "argmaxMask") {
        expr = `_argmax_mask(${ref(n.inputs[0]!)}, ${pyTuple(n.attrs.axes as number[])})`;
      } else {
        if (!def.torch) {
          const site = ctx.sites.get(n);
          throw new FlatgradError(`export --torch: ${n.op} has no PyTorch form yet (flatgrad ${n.op} ${JSON.stringify(n.shape)}): it cannot be exported`, site, "FG230");
        }
        expr = def.torch(n.inputs.map(ref), n.attrs, { ins: n.inputs.map((i) => i.shape), out: n.shape, dtype });
      }
      const line = lineOf(n);
      if (line !== undefined && line !== lastLine) {
        out.push(`${indent}# ${file}:${line}`);
        lastLine = line;
      }
      out.push(`${indent}${names.get(n)} = ${expr}  # ${def.math(n.inputs.map((i) => ctx.names.get(i) ?? ref(i)), n.attrs)}`);
    }
    return out;
  };
  const mainLines = body(main, "        ");
  const updateLines = body(updateOnly, "            ");

  // containers for dotted names: nn.Module() per path prefix, created in order of first use
  const declared = [...[...g.params.keys()].map((k) => ["param", k] as const), ...[...g.buffers.keys()].map((k) => ["buffer", k] as const)];
  const init: string[] = [];
  const made = new Set<string>();
  for (const [kind, full] of declared) {
    const segs = full.split(".");
    for (let i = 1; i < segs.length; i++) {
      const prefix = segs.slice(0, i).join(".");
      if (made.has(prefix)) continue;
      made.add(prefix);
      const parent = i === 1 ? "self" : `self.get_submodule(${JSON.stringify(segs.slice(0, i - 1).join("."))})`;
      init.push(`        ${parent}.add_module(${JSON.stringify(segs[i - 1])}, torch.nn.Module())`);
    }
    const owner = segs.length === 1 ? "self" : `self.get_submodule(${JSON.stringify(segs.slice(0, -1).join("."))})`;
    const leaf = JSON.stringify(segs[segs.length - 1]);
    const node = kind === "param" ? g.params.get(full)! : g.buffers.get(full)!;
    const empty = `torch.empty(${pyTuple(node.shape)}, dtype=${dtype})`;
    if (kind === "param") {
      init.push(`        ${owner}.register_parameter(${leaf}, torch.nn.Parameter(${empty}))`);
      init.push(`        ${initCall(`${owner}.get_parameter(${leaf})`, node.shape, built.paramInit.get(full), "xavier")}`);
    } else {
      init.push(`        ${owner}.register_buffer(${leaf}, ${initCall(empty, node.shape, built.bufferInit.get(full), "zeros")})`);
    }
  }

  const outputs = [...g.outputs].map(([k, n]) => `${JSON.stringify(k)}: ${ref(n)}`).join(", ");
  const updates = [...g.updates].map(([k, n]) => `                ${attrPath("buffer", k)}.copy_(${ref(n)})`);
  const text = [
    `# Exported by flatgrad from ${file}. DO NOT EDIT: export again after changing the model file.`,
    `# forward(**inputs) returns (loss, outputs) as flatgrad's lossAndGrad/forward compute them; train() and`,
    `# eval() select the modes (batch statistics and buffer updates in training, running statistics in eval).`,
    "import math",
    "",
    "import torch",
    "",
    "",
    PRELUDE,
    "",
    "",
    "class Model(torch.nn.Module):",
    `    """${g.name}: params ${[...g.params.keys()].join(", ") || "none"}${g.buffers.size ? `; buffers ${[...g.buffers.keys()].join(", ")}` : ""}."""`,
    "",
    "    INPUTS = {" + [...g.inputs].map(([k, n]) => `${JSON.stringify(k)}: (${pyTuple(n.shape)}, ${TORCH_DTYPE[n.dtype]})`).join(", ") + "}",
    "",
    "    def __init__(self):",
    "        super().__init__()",
    ...(init.length ? ["        with torch.no_grad():", ...init.map((l) => `    ${l}`)] : ["        pass"]),
    "",
    "    def forward(self, **inputs):",
    `        missing = [k for k in (${neededInputs.map((k) => `${JSON.stringify(k)},`).join(" ")}) if k not in inputs]`,
    "        if missing:",
    '            raise TypeError(f"forward() needs the inputs {missing}")',
    ...mainLines,
    ...(g.updates.size
      ? ["        if self.training:", ...(updateLines.length ? updateLines : []), "            with torch.no_grad():", ...updates]
      : []),
    `        return ${g.loss ? ref(g.loss) : "None"}, {${outputs}}`,
    "",
    "",
    ...optimizerLines(built.optimizer),
    "",
  ].join("\n");
  return { text };
}
