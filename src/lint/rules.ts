/**
 * Lints: the classic mistakes of the tutorial, as warnings with stable codes (FGWnnn). They read
 * the model as built, so they speak of the user's calls (`softmax`, `mse`), not of primitives.
 * Each rule: its code, what it catches (docs/errors.md has the fix), and the check.
 */
import { fmtShape } from "../ir/shape.js";
import { topo, type Node } from "../ir/graph.js";
import type { BuilderCall, LintCode, LintInput, LintWarning } from "./types.js";

interface Rule {
  code: LintCode;
  what: string;
  check(m: LintInput, warn: (message: string, site: BuilderCall["site"]) => void): void;
}

/** The call that made `x` (when `x` is the result of an outermost builder call). */
const madeBy = (m: LintInput, x: unknown): BuilderCall | undefined => m.calls.find((c) => c.result === x);
/** ` (line 12)` after what a call made; `probs = softmax(...)` when the model file named it. */
const line = (c: BuilderCall) => (c.site ? ` (line ${c.site.line})` : "");
const named = (m: LintInput, c: BuilderCall) => {
  const name = m.graph.ctx.names.get(c.result);
  return `${name ? `${name} = ` : ""}${c.op}(...)${line(c)}`;
};

/** A loss that wants logits, given the activation it applies itself. */
const logitsLoss = (loss: string, act: string, code: LintCode, instead: string): Rule => ({
  code,
  what: `${loss}(${act}(z)): the loss applies ${act} itself`,
  check(m, warn) {
    for (const c of m.calls.filter((c) => c.op === loss)) {
      const made = madeBy(m, c.args[0]);
      if (made?.op === act)
        warn(`${loss} expects logits, but it is given ${named(m, made)}: ${act} is applied twice and the gradient vanishes as it saturates; ${instead}`, c.site);
    }
  },
});

const ACTIVATIONS = ["relu", "sigmoid", "tanh", "softmax"];

/** Learning rates the tutorial warns about, per optimizer family. */
const LR_RANGE: Record<string, [number, number]> = { sgd: [1e-6, 1], adam: [1e-6, 0.1], adamw: [1e-6, 0.1], rmsprop: [1e-6, 0.1] };

export const RULES: Rule[] = [
  logitsLoss("softmaxCrossEntropy", "softmax", "FGW001", "pass the logits z (softmaxCrossEntropy(z, y)) and keep softmax(z) for an output"),
  logitsLoss("bceWithLogits", "sigmoid", "FGW002", "pass the logits z (bceWithLogits(z, y)), or use bce(sigmoid(z), y)"),
  {
    code: "FGW003",
    what: "log(softmax(z)) instead of logSoftmax(z)",
    check(m, warn) {
      for (const c of m.calls.filter((c) => c.op === "log")) {
        const made = madeBy(m, c.args[0]);
        if (made?.op === "softmax")
          warn(`log of ${named(m, made)}: a probability that underflows to 0 gives log 0 = −Infinity; logSoftmax(z) computes the same stably (z − max − log Σ e^(z − max))`, c.site);
      }
    },
  },
  {
    code: "FGW004",
    what: "a param that does not reach the loss",
    check(m, warn) {
      if (!m.graph.loss) return;
      const reached = new Set<Node>(topo([m.graph.loss]));
      for (const [name, p] of m.graph.params)
        if (!reached.has(p))
          warn(`param "${name}" does not reach the loss: its gradient is always 0, so it never trains (use it in the network, or remove it)`, m.declaredAt.get(`param:${name}`));
    },
  },
  {
    code: "FGW005",
    what: "an activation after the last layer of a regression loss (mse)",
    check(m, warn) {
      for (const c of m.calls.filter((c) => c.op === "mse")) {
        const made = madeBy(m, c.args[0]);
        if (made && ACTIVATIONS.includes(made.op))
          warn(
            `mse's prediction is ${named(m, made)}: a regression output limited to ${made.op === "relu" ? "[0, ∞)" : made.op === "tanh" ? "(−1, 1)" : "(0, 1)"} cannot fit targets outside that range, and its gradient vanishes where ${made.op} is flat; compare the last layer's output itself`,
            c.site,
          );
      }
    },
  },
  {
    code: "FGW006",
    what: 'init: "zeros" (or "ones") on a weight matrix',
    check(m, warn) {
      for (const [name, p] of m.graph.params) {
        const init = m.paramInit.get(name)?.init;
        if ((init === "zeros" || init === "ones") && p.shape.length >= 2)
          warn(
            `param "${name}" ${fmtShape(p.shape)} starts with every weight ${init === "zeros" ? "0" : "1"}: every unit of the layer computes the same thing and gets the same gradient, so they never differ (symmetry); use "xavier" (the default for two or more axes) or "he" before relu`,
            m.declaredAt.get(`param:${name}`),
          );
      }
    },
  },
  {
    code: "FGW007",
    what: "a learning rate the tutorial warns about",
    check(m, warn) {
      const type = m.optimizer.type;
      const lr = m.optimizer.lr;
      const range = LR_RANGE[type];
      if (lr === undefined || !range) return;
      const [low, high] = range;
      if (lr >= high) warn(`${type} lr ${lr} is large (≥ ${high}): steps overshoot and the loss diverges to NaN; try ${type === "sgd" ? "0.1 or 0.01" : "1e-3"}`, m.fieldSite(["optimizer", "lr"]));
      else if (lr <= low) warn(`${type} lr ${lr} is tiny (≤ ${low}): the parameters barely move; try ${type === "sgd" ? "0.1 or 0.01" : "1e-3"}`, m.fieldSite(["optimizer", "lr"]));
    },
  },
];

/** Every warning for a model, in rule order. */
export function lint(m: LintInput): LintWarning[] {
  const out: LintWarning[] = [];
  for (const r of RULES) r.check(m, (message, site) => out.push({ code: r.code, message, site }));
  return out;
}
