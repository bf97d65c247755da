import { Ctx, type FloatDType, type Node } from "../ir/graph.js";
import { FlatgradError, fmtShape, fmtValue, sameShape, type Shape, type Site } from "../ir/shape.js";
import { registry, type OpName, type Registry } from "../ops/index.js";
import type { Attrs, OpDef, TensorLike } from "../ops/types.js";
import { intOperandError } from "../ops/family.js";
import { callSite } from "./callsite.js";
import { checkName } from "../ir/names.js";
import type { BuilderCall } from "../lint/types.js";
import { customGrad, grad, type GradCall, type GradOptions } from "./grad.js";
import type { CustomRule } from "../ops/customVjp.js";

type Method<C> = C extends (b: Builder, ...args: infer P) => infer R ? (...args: P) => R : never;
/** The builder methods, derived from the op registry: `g.add`, `g.linear`, ... */
export type OpMethods = { [K in OpName]: Method<Registry[K]["call"]> };

/** What every builder has besides the ops. */
export interface Core {
  /** The model's dtype: params, constants and float inputs have it. */
  readonly dtype: FloatDType;
  /** Make a primitive node (shape-checked and interned). */
  apply(op: OpName, inputs: Node[], attrs?: Attrs): Node;
  /**
   * A plain number becomes a scalar constant; a node stays itself. `op` and `what` name the operand
   * in errors; an int32 tensor is rejected (FG165) unless `op` lists `what` in its `intOperands`.
   */
  lift(x: TensorLike, op?: string, what?: string): Node;
  /** Check a numeric op argument. */
  number(op: string, what: string, v: unknown): number;
  /** Sum a gradient computed at a broadcast shape back to the operand's shape (the adjoint of broadcasting). */
  unbroadcast(g: Node, shape: Shape): Node;
  /** Declare a named input, parameter, buffer or output (the model's interface). */
  declare(kind: "input" | "param" | "buffer" | "output", name: string, node: Node, meta?: Attrs): Node;
  /**
   * Internal (for ops such as batchNorm, not part of the model-file contract): give `buffer` the
   * new value `value` after each training step: an update root that only training runs, written
   * in place after the step's kernels. `value` has the buffer's shape and dtype (FG148); the
   * target is a buffer declared with `g.buffer` and is assigned at most once (FG113). Returns `value`.
   */
  assign(buffer: Node, value: TensorLike): Node;
  /**
   * Internal (for ops whose derivation has names, not part of the model-file contract): name the
   * part `n` plays, such as attention's `P`, `dP` or `dS`, so that its generated buffer is
   * `<variable>_<role>` and reads like the derivation. The first role given to a node stays. Returns `n`.
   */
  role(n: Node, role: string): Node;
  /**
   * ∂y/∂x for each x in `xs` (params, inputs or intermediate tensors), y a scalar: tensors that are
   * themselves differentiable (`torch.autograd.grad(y, xs, create_graph=True)`), in the order of `xs`.
   * An x that y does not depend on is an error (FG202) unless `{ allowUnused: true }` (then zeros).
   */
  grad<const X extends readonly Node[]>(y: Node, xs: X, options?: GradOptions): { -readonly [K in keyof X]: Node };
  /**
   * A function of tensors whose value is `fn(g, ...inputs)` and whose derivative is the user's
   * `rule(g, inputs, output, dOutput)` → one gradient per input (shaped like it, or null), built as
   * IR (`jax.custom_vjp`). The generated backward runs the rule; `flatgrad verify` checks it.
   */
  customGrad<I extends Node[]>(fn: (g: Builder, ...inputs: I) => Node, rule: (g: Builder, inputs: I, output: Node, dOutput: Node) => readonly (Node | null)[]): (...inputs: TensorLike[]) => Node;
}

// An interface (not a type alias) so that op files may mention Builder while the registry is typed.
export interface Builder extends OpMethods, Core {}

export interface Declared {
  inputs: Map<string, Node>;
  params: Map<string, Node>;
  paramInit: Map<string, Attrs>;
  buffers: Map<string, Node>;
  bufferInit: Map<string, Attrs>;
  /** Buffer name → the node holding its value after a training step. */
  updates: Map<string, Node>;
  outputs: Map<string, Node>;
  /** Where each `kind:name` was declared (for duplicate-name errors). */
  sites: Map<string, Site>;
  /** Every outermost builder call, in order (what the lints read). */
  calls?: BuilderCall[];
  /** Every `g.grad` call (for the names of its tensors). */
  gradCalls?: GradCall[];
}

/**
 * Make a builder over `ctx`. With `declared`, it is a model builder (`g` in `build(g)`), which
 * records call sites; without, it is the builder the differentiator and passes use.
 */
export function makeBuilder(ctx: Ctx, declared?: Declared): Builder {
  let depth = 0;
  const core: Core = {
    dtype: ctx.float,
    apply: (op, inputs, attrs = {}) => ctx.make(op, inputs, attrs),
    lift: (x, op = "constant", what = "the operand") => {
      if (typeof x === "number") {
        if (!Number.isFinite(x)) throw new FlatgradError(`${op}: ${what} is ${x}: a number operand must be finite`, undefined, "FG162");
        return ctx.make("constant", [], { values: [x], shape: [] });
      }
      if (!isNode(x)) throw new FlatgradError(`${op}: ${what} must be a tensor or a number, got ${describeValue(x)}`, undefined, "FG100");
      if (x.dtype === "int32" && !acceptsInt((registry as Record<string, OpDef>)[op], what)) throw intOperandError(op, what, x.shape);
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
      // inputs, params and buffers share one namespace (a checkpoint's keys), outputs have their own
      const kinds = kind === "output" ? (["output"] as const) : (["input", "param", "buffer"] as const);
      const mapOf = (k: "input" | "param" | "buffer" | "output") => ({ input: declared.inputs, param: declared.params, buffer: declared.buffers, output: declared.outputs })[k];
      const map = mapOf(kind);
      const firstKind = kinds.find((k) => mapOf(k).has(name));
      if (firstKind) {
        const first = declared.sites.get(`${firstKind}:${name}`);
        const where = first ? ` at ${first.file === ctx.site?.file ? "" : `${first.file}:`}line ${first.line}` : "";
        const names = kind === "output" ? "outputs" : "inputs, params and buffers";
        throw new FlatgradError(
          `${kind}: duplicate name "${name}": ${firstKind} "${name}" is already declared${where} (${names} share one namespace; names must be unique)`,
          undefined,
          "FG111",
        );
      }
      if (ctx.site) declared.sites.set(`${kind}:${name}`, ctx.site);
      map.set(name, node);
      if (kind === "param") declared.paramInit.set(name, meta ?? {});
      if (kind === "buffer") declared.bufferInit.set(name, meta ?? {});
      if (kind !== "output") ctx.names.set(node, name);
      else ctx.name(node, name);
      return node;
    },
    assign: (target, value) => {
      const site = declared && depth === 0 ? callSite() : undefined;
      const fail = (msg: string, code: "FG112" | "FG113" | "FG148") => new FlatgradError(`assign: ${msg}`, site ?? ctx.site, code);
      if (!declared) throw fail(`only a model's build(g) can assign buffers`, "FG112");
      if (!isNode(target) || target.op !== "buffer")
        throw fail(`the target must be a buffer declared with g.buffer(name, shape), got ${isNode(target) ? `a ${target.op} tensor ${fmtShape(target.shape)}` : describeValue(target)}`, "FG113");
      const name = target.attrs.name as string;
      if (declared.updates.has(name)) throw fail(`buffer "${name}" already has an update: a buffer is assigned at most once per step`, "FG113");
      let v: Node;
      try {
        v = ctx.at(site, () => core.lift(value, "assign", "value"));
      } catch (e) {
        if (e instanceof FlatgradError) e.site ??= site;
        throw e;
      }
      if (!sameShape(v.shape, target.shape) || v.dtype !== target.dtype)
        throw fail(`buffer "${name}" is ${target.dtype} ${fmtShape(target.shape)} but the value is ${v.dtype} ${fmtShape(v.shape)}: they must be equal (no broadcasting)`, "FG148");
      declared.updates.set(name, v);
      return v;
    },
    role: (n, role) => {
      if (!ctx.roles.has(n) && !ctx.names.has(n) && n.inputs.length) ctx.roles.set(n, role);
      return n;
    },
    grad: ((y: Node, xs: readonly Node[], options?: GradOptions) => grad(ctx, b, declared?.gradCalls, declared && depth === 0 ? (callSite() ?? ctx.site) : ctx.site, y, xs, options)) as Core["grad"],
    customGrad: (fn, rule) => {
      const here = () => (declared && depth === 0 ? (callSite() ?? ctx.site) : ctx.site);
      return customGrad(ctx, b, makeBuilder(ctx), here(), fn, rule, here) as ReturnType<Core["customGrad"]>;
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

const acceptsInt = (def: OpDef | undefined, role: string): boolean => def?.intOperands === true || (def?.intOperands?.includes(role) ?? false);

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
