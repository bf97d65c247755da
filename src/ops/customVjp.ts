/**
 * The node `g.customGrad(fn, rule)` makes: customVjp(x1, …, xn, f) has the value of f (the forward
 * `fn` built from the xi) and the user's rule as its derivative: dy ↦ rule(g, [x1…xn], out, dy) for
 * the xi, and nothing through f (the forward's own derivative is what the rule replaces). The rule
 * builds IR, so it is differentiated again like any other. After the last differentiation the node
 * is replaced by f (src/passes/simplify.ts, `afterDifferentiation`): kernels never see it.
 */
import { FlatgradError, fmtShape, sameShape } from "../ir/shape.js";
import type { Builder, Node, Primitive } from "./types.js";

/** The user's derivative rule: one gradient per input, shaped like it (`null`: no gradient flows). */
export type CustomRule = (g: Builder, inputs: Node[], output: Node, dOutput: Node) => readonly (Node | null | undefined)[];

/** `rule`: the rule's number in this compilation (what makes two rules two nodes); `vjp`: the rule itself. */
export interface CustomAttrs extends Record<string, unknown> {
  rule: number;
  vjp: CustomRule;
}

/**
 * Run a rule and check what it returns: one tensor (or null) per input, each with its input's
 * shape and dtype (FG203, FG204). Used when the op is built (so the error points at the call) and
 * again when it is differentiated.
 */
export function runRule(rule: CustomRule, b: Builder, inputs: Node[], out: Node, dy: Node): (Node | null)[] {
  const r: unknown = rule(b, [...inputs], out, dy);
  const n = inputs.length;
  if (!Array.isArray(r) || r.length !== n)
    throw new FlatgradError(
      `customGrad: the gradient rule must return an array of ${n} gradient${n === 1 ? "" : "s"} (one per input, null for none), got ${Array.isArray(r) ? `${r.length}` : describe(r)}`,
      undefined,
      "FG203",
    );
  return r.map((d: unknown, i) => {
    if (d === null || d === undefined) return null;
    const x = inputs[i]!;
    if (!isTensor(d)) throw new FlatgradError(`customGrad: gradient ${i} of the rule is ${describe(d)}: it must be a tensor shaped like input ${i} ${fmtShape(x.shape)} (or null)`, undefined, "FG203");
    if (!sameShape(d.shape, x.shape) || d.dtype !== x.dtype)
      throw new FlatgradError(
        `customGrad: gradient ${i} of the rule is ${d.dtype} ${fmtShape(d.shape)} but input ${i} is ${x.dtype} ${fmtShape(x.shape)}: a gradient has its input's shape and dtype`,
        undefined,
        "FG204",
      );
    return d;
  });
}

const isTensor = (x: unknown): x is Node => typeof x === "object" && x !== null && "key" in x && "shape" in x && "op" in x;
const describe = (x: unknown): string => (isTensor(x) ? `a tensor ${fmtShape(x.shape)}` : Array.isArray(x) ? "an array" : x === null ? "null" : typeof x);

export const customVjp: Primitive<(b: Builder, inputs: Node[], forward: Node, attrs: CustomAttrs) => Node, CustomAttrs> = {
  kind: "primitive",
  doc: "internal: the value of its last operand (a customGrad's forward), with the user's derivative rule for the others",
  call: (b, inputs, forward, attrs) => b.apply("customVjp", [...inputs, forward], attrs),
  // the forward's dtype; integer inputs are allowed (the rule gives them no gradient)
  dtype: (ins) => ins[ins.length - 1]!,
  intOperands: true,
  shape: (ins) => [...ins[ins.length - 1]!],
  eval: (xs) => Float64Array.from(xs[xs.length - 1]!),
  vjp: ({ inputs, out, dy, attrs }, b) => [...runRule(attrs.vjp, b, inputs.slice(0, -1), out, dy), null],
  math: (args, { rule }) => `custom${rule}(${args.slice(0, -1).join(", ")}) = ${args[args.length - 1]}`,
  lower: { kind: "view", view: (v) => v },
};
