/**
 * Errors that speak the model file's names. A shape error says `x is [64,32] but W is [32,31]`
 * in the op's own words; this adds which of the user's tensors those are and where each was made
 * (`x is h1 [64,32] (line 14), W is W2 [32,31] (declared line 9)`), for any op, and turns a
 * misspelt builder method into "did you mean".
 */
import path from "node:path";
import { failedCalls, isNode, type Builder, type Declared } from "../dsl/builder.js";
import { callSite } from "../dsl/callsite.js";
import type { Ctx, Node } from "../ir/graph.js";
import { FlatgradError, fmtShape, type Site } from "../ir/shape.js";
import { registry } from "../ops/index.js";
import { nameNodesFromSource } from "./names.js";
import { closest, TORCH_INITS, TORCH_OPS } from "./suggest.js";

/** Add the operands' names and lines to an error thrown by a builder call; a hint to an unknown init. */
export function explainError(e: FlatgradError, ctx: Ctx, declared: Declared, readSource: (file: string) => string | undefined): void {
  const init = e.code === "FG164" ? /unknown init "([^"]+)"/.exec(e.message)?.[1] : undefined;
  if (init !== undefined) {
    const near = closest(init, ["zeros", "ones", "xavier", "he", "normal", "uniform"], TORCH_INITS);
    if (near) e.message += `: did you mean "${near}"?`;
  }
  const call = failedCalls.get(e);
  if (!call) return;
  // the names `const h1 = g.op(...)` gives are normally read after build(g): read them now
  for (const f of new Set([...ctx.results.values()].map((s) => s.file))) {
    const text = readSource(f);
    if (text !== undefined) nameNodesFromSource(ctx, f, text);
  }
  const args = call.args.filter(isNode);
  const used = new Set<Node>();
  const parts: string[] = [];
  // the roles the op's message names, in argument order, each matched to the argument of that shape
  for (const m of e.message.matchAll(/\b(\w+) is (\[[\d,]*\])/g)) {
    const node = args.find((a) => !used.has(a) && fmtShape(a.shape) === m[2]);
    if (!node) continue;
    used.add(node);
    const what = describe(node, ctx, declared, e.site);
    if (what) parts.push(`${m[1]} is ${what}`);
  }
  if (parts.length) e.message += `; here ${parts.join(", ")}`;
}

/** `h1 [64,32] (line 14)`, `W2 [32,31] (declared line 9)`, or `relu(...) [64,32] (line 14)` for an unnamed result. */
function describe(n: Node, ctx: Ctx, declared: Declared, at: Site | undefined): string | undefined {
  const where = (s: Site | undefined, declaredHere: boolean) =>
    s ? ` (${declaredHere ? "declared " : ""}${at && s.file !== at.file ? `${path.basename(s.file)}:` : "line "}${s.line})` : "";
  const name = ctx.names.get(n);
  if (name && (n.op === "param" || n.op === "input")) return `${name} ${fmtShape(n.shape)}${where(declared.sites.get(`${n.op}:${name}`), true)}`;
  const site = ctx.results.get(n);
  if (name) return `${name} ${fmtShape(n.shape)}${where(site, false)}`;
  const made = declared.calls?.find((c) => c.result === n);
  return made ? `${made.op}(...) ${fmtShape(n.shape)}${where(made.site, false)}` : undefined;
}

/** The builder a model's build(g) gets: a misspelt method (g.tahn) is an error that says "did you mean g.tanh". */
export function withSuggestions(g: Builder): Builder {
  return new Proxy(g, {
    get(target, prop, receiver) {
      if (typeof prop === "string" && !(prop in target)) {
        const near = closest(prop, Object.keys(registry), TORCH_OPS);
        if (near) {
          const note = near === "softmaxCrossEntropy" && prop !== near ? " (it takes one-hot rows or probabilities as targets, not class indices)" : "";
          throw new FlatgradError(`g.${prop} is not a builder method: did you mean g.${near}?${note}`, callSite(), "FG108");
        }
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}
