import { Ctx, type Node } from "../ir/graph.js";
import { FlatgradError, fmtShape, fmtValue, sameShape, type Shape, type Site } from "../ir/shape.js";
import { registry, type OpName, type Registry } from "../ops/index.js";
import type { Attrs, TensorLike } from "../ops/types.js";
import { callSite } from "./callsite.js";
import { checkName } from "../ir/names.js";
import type { BuilderCall } from "../lint/types.js";

type Method<C> = C extends (b: Builder, ...args: infer P) => infer R ? (...args: P) => R : never;
/** The builder methods, derived from the op registry: `g.add`, `g.linear`, ... */
export type OpMethods = { [K in OpName]: Method<Registry[K]["call"]> };

/** What every builder has besides the ops. */
export interface Core {
  /** Make a primitive node (shape-checked and interned). */
  apply(op: OpName, inputs: Node[], attrs?: Attrs): Node;
  /** A plain number becomes a scalar constant; a node stays itself. `op` and `what` name the operand in errors. */
  lift(x: TensorLike, op?: string, what?: string): Node;
  /** Check a numeric op argument. */
  number(op: string, what: string, v: unknown): number;
  /** Sum a gradient computed at a broadcast shape back to the operand's shape (the adjoint of broadcasting). */
  unbroadcast(g: Node, shape: Shape): Node;
  /** Declare a named input, parameter or output (the model's interface). */
  declare(kind: "input" | "param" | "output", name: string, node: Node, meta?: Attrs): Node;
}

// An interface (not a type alias) so that op files may mention Builder while the registry is typed.
export interface Builder extends OpMethods, Core {}

export interface Declared {
  inputs: Map<string, Node>;
  params: Map<string, Node>;
  paramInit: Map<string, Attrs>;
  outputs: Map<string, Node>;
  /** Where each `kind:name` was declared (for duplicate-name errors). */
  sites: Map<string, Site>;
  /** Every outermost builder call, in order (what the lints read). */
  calls?: BuilderCall[];
}

/**
 * Make a builder over `ctx`. With `declared`, it is a model builder (`g` in `build(g)`), which
 * records call sites; without, it is the builder the differentiator and passes use.
 */
export function makeBuilder(ctx: Ctx, declared?: Declared): Builder {
  let depth = 0;
  const core: Core = {
    apply: (op, inputs, attrs = {}) => ctx.make(op, inputs, attrs),
    lift: (x, op = "constant", what = "the operand") => {
      if (typeof x === "number") {
        if (!Number.isFinite(x)) throw new FlatgradError(`${op}: ${what} is ${x}: a number operand must be finite`, undefined, "FG162");
        return ctx.make("constant", [], { values: [x], shape: [] });
      }
      if (!isNode(x)) throw new FlatgradError(`${op}: ${what} must be a tensor or a number, got ${describeValue(x)}`, undefined, "FG100");
      return x;
    },
    number: (op, what, v) => {
      if (typeof v !== "number") throw new FlatgradError(`${op}: ${what} must be a finite number, got ${describeValue(v)}`, undefined, "FG100");
      if (!Number.isFinite(v)) throw new FlatgradError(`${op}: ${what} is ${v}: it must be a finite number`, undefined, "FG162");
      return v;
    },
    unbroadcast: (g, shape) => {
      if (sameShape(g.shape, shape)) return g;
      const lead = g.shape.length - shape.length;
      const axes = g.shape.map((_, i) => i).filter((i) => i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1));
      const summed = axes.length ? ctx.make("sum", [g], { axes, keepDims: false }) : g;
      return sameShape(summed.shape, shape) ? summed : ctx.make("reshape", [summed], { shape: [...shape] });
    },
    declare: (kind, name, node, meta) => {
      if (!declared) throw new FlatgradError(`${kind}: only a model's build(g) can declare ${kind}s`, undefined, "FG112");
      checkName(kind, name);
      const map = kind === "input" ? declared.inputs : kind === "param" ? declared.params : declared.outputs;
      const otherKind = kind === "input" ? "param" : kind === "param" ? "input" : undefined;
      const other = otherKind === "param" ? declared.params : otherKind === "input" ? declared.inputs : undefined;
      if (map.has(name) || other?.has(name)) {
        const firstKind = map.has(name) ? kind : otherKind!;
        const first = declared.sites.get(`${firstKind}:${name}`);
        const where = first ? ` at ${first.file === ctx.site?.file ? "" : `${first.file}:`}line ${first.line}` : "";
        const names = kind === "output" ? "outputs" : "inputs and params";
        throw new FlatgradError(
          `${kind}: duplicate name "${name}": ${firstKind} "${name}" is already declared${where} (${names} share one namespace; names must be unique)`,
          undefined,
          "FG111",
        );
      }
      if (ctx.site) declared.sites.set(`${kind}:${name}`, ctx.site);
      map.set(name, node);
      if (kind === "param") declared.paramInit.set(name, meta ?? {});
      if (kind !== "output") ctx.names.set(node, name);
      else ctx.name(node, name);
      return node;
    },
  };
  const b = core as Builder;
  for (const [op, def] of Object.entries(registry) as [OpName, Registry[OpName]][]) {
    const call = def.call as (b: Builder, ...args: unknown[]) => Node;
    (b as unknown as Record<string, unknown>)[op] = (...args: unknown[]) => {
      if (!declared || depth > 0) return call(b, ...args);
      const site = callSite();
      depth++;
      try {
        const result = ctx.at(site, () => call(b, ...args));
        if (site && isNode(result) && !ctx.results.has(result)) ctx.results.set(result, site);
        if (isNode(result)) declared.calls?.push({ op, args, result, site });
        return result;
      } catch (e) {
        if (e instanceof FlatgradError && !e.site) e.site = site;
        if (e instanceof FlatgradError && !failedCalls.has(e)) failedCalls.set(e, { op, args });
        throw e;
      } finally {
        depth--;
      }
    };
  }
  return b;
}

/** The outermost builder call an error came from (op and arguments), so errors can name its operands. */
export const failedCalls = new WeakMap<FlatgradError, { op: string; args: readonly unknown[] }>();

export function isNode(x: unknown): x is Node {
  return typeof x === "object" && x !== null && "key" in x && "shape" in x && "op" in x;
}

function describeValue(v: unknown): string {
  if (isNode(v)) return `a tensor ${fmtShape(v.shape)}`;
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  if (Array.isArray(v)) return `an array ${fmtValue(v).slice(0, 60)}`;
  if (typeof v === "object" && v !== null) return "an object";
  return typeof v === "function" ? "a function" : String(v);
}

export type { Site };
