/**
 * `g.grad(y, xs)` and `g.customGrad(fn, rule)`: derivatives as values of the model. `grad` runs
 * `vjp` at build time on the graph built so far; its results are ordinary IR nodes, so a loss may
 * use them and the pipeline's differentiation differentiates them again (second order).
 * `customGrad` makes a node whose derivative is the user's rule (src/ops/customVjp.ts).
 */
import { vjp } from "../autodiff/vjp.js";
import { topo, type Ctx, type Node } from "../ir/graph.js";
import { FlatgradError, fmtShape, fmtValue, type Site } from "../ir/shape.js";
import { runRule, type CustomRule } from "../ops/customVjp.js";
import type { TensorLike } from "../ops/types.js";
import type { Builder } from "./builder.js";

export interface GradOptions {
  /** Give a zero gradient for an x that y does not depend on, instead of a compile error (PyTorch's `allow_unused`, with zeros). */
  allowUnused?: boolean;
}

/** One `g.grad` call, kept so that its results and intermediate gradients get readable names once the source is read. */
export interface GradCall {
  site: Site | undefined;
  y: Node;
  xs: Node[];
  results: Node[];
  /** (forward node, its gradient) for every node the call differentiated. */
  pairs: [Node, Node][];
}

const isNode = (x: unknown): x is Node => typeof x === "object" && x !== null && "key" in x && "shape" in x && "op" in x;
const describe = (x: unknown) => (isNode(x) ? `a tensor ${fmtShape(x.shape)}` : typeof x === "function" ? "a function" : fmtValue(x));
/** A node of this compilation: interned in `ctx` (a tensor of another model's build is not). */
const ofGraph = (ctx: Ctx, x: Node) => ctx.find(x.op, x.inputs, x.attrs as Record<string, unknown>) === x;

export function grad(ctx: Ctx, b: Builder, calls: GradCall[] | undefined, site: Site | undefined, y: unknown, xs: unknown, options?: GradOptions): Node[] {
  const fail = (msg: string, code: "FG200" | "FG201" | "FG202" | "FG165") => new FlatgradError(`grad: ${msg}`, site, code);
  if (!isNode(y) || !ofGraph(ctx, y)) throw fail(`y must be a scalar tensor of this model's graph, got ${describe(y)}`, "FG201");
  if (y.shape.length !== 0) throw fail(`y is ${fmtShape(y.shape)}: grad differentiates a scalar (shape []); reduce y first, e.g. g.sum(y)`, "FG200");
  if (y.dtype === "int32") throw fail(`y is an int32 tensor: integer tensors carry no gradient`, "FG165");
  if (!Array.isArray(xs)) throw fail(`xs must be an array of tensors of this model's graph, got ${describe(xs)}`, "FG201");
  if (options !== undefined && (typeof options !== "object" || options === null || Object.keys(options).some((k) => k !== "allowUnused")))
    throw fail(`options must be { allowUnused?: boolean }, got ${describe(options)}`, "FG201");
  const reached = new Set(topo([y]));
  const list = xs.map((x: unknown, i) => {
    if (!isNode(x) || !ofGraph(ctx, x)) throw fail(`xs[${i}] is ${describe(x)}, not a tensor of this model's graph (a param, an input or an intermediate tensor)`, "FG201");
    if (x.dtype === "int32") throw fail(`xs[${i}] is an int32 tensor ${fmtShape(x.shape)}: integer tensors carry no gradient`, "FG165");
    if (!reached.has(x) && !options?.allowUnused) {
      const name = ctx.names.get(x);
      throw fail(
        `y does not depend on xs[${i}]${name ? ` ("${name}")` : ""}, ${x.op} ${fmtShape(x.shape)}: its gradient would be 0; pass { allowUnused: true } to get zeros`,
        "FG202",
      );
    }
    return x;
  });
  const one = ctx.make("constant", [], { values: [1], shape: [] });
  const pairs: [Node, Node][] = [];
  const results = ctx.at(site, () => vjp(ctx, [y], [one], list, { name: (n, d) => pairs.push([n, d]) }));
  calls?.push({ site, y, xs: list, results, pairs });
  return results;
}

/**
 * Readable names for `grad`'s tensors once the source has named the forward: ∂y/∂x is `dx_y`
 * (`dt_u` for ∂u/∂t, `dt_dt_u` for the second derivative), unless the model file names it
 * (`const [u_t] = g.grad(u, [t])`).
 */
export function nameGradients(ctx: Ctx, calls: readonly GradCall[], destructured: (site: Site) => (string | undefined)[] | undefined): void {
  for (const c of calls) {
    const own = c.site && destructured(c.site);
    c.results.forEach((d, i) => own?.[i] && ctx.names.set(d, own[i]!));
  }
  for (const c of calls) {
    const yName = ctx.names.get(c.y);
    for (const [n, d] of c.pairs) {
      const nName = ctx.names.get(n);
      if (nName) ctx.name(d, yName ? `d${nName}_${yName}` : `d${nName}`);
    }
  }
}

/** `g.customGrad(fn, rule)`: a function of tensors whose value is `fn`'s and whose derivative is `rule`. */
export function customGrad(
  ctx: Ctx,
  b: Builder,
  inner: Builder,
  defined: Site | undefined,
  fn: unknown,
  rule: unknown,
  callSite: () => Site | undefined,
): (...inputs: TensorLike[]) => Node {
  let site = defined;
  const fail = (msg: string, code: "FG203" | "FG205") => new FlatgradError(`customGrad: ${msg}`, site, code);
  if (typeof fn !== "function") throw fail(`fn must be a function (g, ...inputs) => tensor, got ${describe(fn)}`, "FG205");
  if (typeof rule !== "function") throw fail(`the gradient rule must be a function (g, inputs, output, dOutput) => gradients, got ${describe(rule)}`, "FG205");
  const index = ruleIndex(ctx, rule as CustomRule);
  return (...args: TensorLike[]): Node => {
    // errors of an application point at the line that applies it
    site = callSite() ?? defined;
    const inputs = ctx.at(site, () => args.map((x, i) => b.lift(x, "customGrad", `input ${i}`)));
    const out: unknown = (fn as (g: Builder, ...xs: Node[]) => unknown)(b, ...inputs);
    if (!isNode(out)) throw fail(`fn must return one tensor, got ${describe(out)}`, "FG205");
    const node = ctx.at(site, () => ctx.make("customVjp", [...inputs, out], { rule: index, vjp: rule }));
    if (site && !ctx.results.has(node)) ctx.results.set(node, site);
    // check the rule now, so that a wrong one is an error at this call, not in the differentiation
    const dy = ctx.make("constant", [], { values: [1], shape: [...out.shape] });
    try {
      ctx.at(site, () => runRule(rule as CustomRule, inner, inputs, node, dy));
    } catch (e) {
      if (e instanceof FlatgradError) e.site = site ?? e.site;
      throw e;
    }
    return node;
  };
}

const rules = new WeakMap<Ctx, Map<CustomRule, number>>();
/** Each distinct rule function gets a number per compilation: two rules on the same forward are two nodes. */
function ruleIndex(ctx: Ctx, rule: CustomRule): number {
  const m = rules.get(ctx) ?? new Map<CustomRule, number>();
  rules.set(ctx, m);
  if (!m.has(rule)) m.set(rule, m.size);
  return m.get(rule)!;
}
