/**
 * Every rewrite, before and after, on the smallest graph that triggers it: one named test per
 * row of `rules` and `stabilisations` (src/passes/simplify.ts), run alone, and for
 * `foldConstants` (src/passes/fold.ts). Each test compares the printed IR before and after
 * (src/ir/print.ts) and checks through the interpreter that the two graphs compute the same
 * values. A row added to either table without a case here fails "every law has a case".
 */
import { describe, expect, it } from "vitest";
import type { Builder } from "../../src/dsl/builder.js";
import type { Graph } from "../../src/ir/graph.js";
import { printGraph } from "../../src/ir/print.js";
import { foldConstants } from "../../src/passes/fold.js";
import { afterDifferentiation, rules, simplify, stabilisations, type Rewrite } from "../../src/passes/simplify.js";
import { maxRelErr } from "../support/helpers.js";
import { graphOf, rootValues, sampleValues } from "../support/graphs.js";

interface Case {
  build(g: Builder): void;
  before: string;
  after: string;
}

const lines = (...ls: string[]) => ls.join("\n");

const cases: Record<string, Case> = {};

const x23 = (g: Builder) => g.input("x", [2, 3]);

cases["reshape(x, shape(x)) → x"] = {
  build: (g) => void g.output("y", g.exp(g.apply("reshape", [x23(g)], { shape: [2, 3] }))),
  before: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = reshape(%0) : [2, 3] float64",
    "%2 = exp(%1) : [2, 3] float64",
    "outputs: y = %2",
  ),
  after: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = exp(%0) : [2, 3] float64",
    "outputs: y = %1",
  ),
};
cases["reshape(reshape(x)) → reshape(x)"] = {
  build: (g) => void g.output("y", g.reshape(g.reshape(x23(g), [3, 2]), [6])),
  before: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = reshape(%0) : [3, 2] float64",
    "%2 = reshape(%1) : [6] float64",
    "outputs: y = %2",
  ),
  after: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = reshape(%0) : [6] float64",
    "outputs: y = %1",
  ),
};
cases["transpose(x, identity) → x"] = {
  build: (g) => void g.output("y", g.exp(g.apply("transpose", [x23(g)], { perm: [0, 1] }))),
  before: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = transpose(%0) {perm: [0, 1]} : [2, 3] float64",
    "%2 = exp(%1) : [2, 3] float64",
    "outputs: y = %2",
  ),
  after: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = exp(%0) : [2, 3] float64",
    "outputs: y = %1",
  ),
};
cases["transpose(transpose(x, p), q) → transpose(x, p∘q)"] = {
  build: (g) => void g.output("y", g.transpose(g.transpose(g.input("x", [2, 3, 4]), [1, 2, 0]), [1, 0, 2])),
  before: lines(
    '%0 = input "x" : [2, 3, 4] float64',
    "%1 = transpose(%0) {perm: [1, 2, 0]} : [3, 4, 2] float64",
    "%2 = transpose(%1) {perm: [1, 0, 2]} : [4, 3, 2] float64",
    "outputs: y = %2",
  ),
  after: lines(
    '%0 = input "x" : [2, 3, 4] float64',
    "%1 = transpose(%0) {perm: [2, 1, 0]} : [4, 3, 2] float64",
    "outputs: y = %1",
  ),
};
cases["(A·B)ᵀ → Bᵀ·Aᵀ"] = {
  // square operands, so that a rule that multiplies in the wrong order still type-checks and
  // fails on the printed IR and on values; and a batch of them, whose batch axis stays first
  build: (g) => {
    g.output("y", g.transpose(g.matmul(g.input("A", [3, 3]), g.param("B", [3, 3]))));
    g.output("Y", g.transpose(g.matmul(g.input("P", [2, 3, 3]), g.input("Q", [2, 3, 3])), [0, 2, 1]));
  },
  before: lines(
    '%0 = input "A" : [3, 3] float64',
    '%1 = input "P" : [2, 3, 3] float64',
    '%2 = input "Q" : [2, 3, 3] float64',
    '%3 = param "B" : [3, 3] float64',
    "%4 = matmul(%0, %3) : [3, 3] float64",
    "%5 = transpose(%4) {perm: [1, 0]} : [3, 3] float64",
    "%6 = matmul(%1, %2) : [2, 3, 3] float64",
    "%7 = transpose(%6) {perm: [0, 2, 1]} : [2, 3, 3] float64",
    "outputs: y = %5, Y = %7",
  ),
  after: lines(
    '%0 = input "A" : [3, 3] float64',
    '%1 = input "P" : [2, 3, 3] float64',
    '%2 = input "Q" : [2, 3, 3] float64',
    '%3 = param "B" : [3, 3] float64',
    "%4 = transpose(%3) {perm: [1, 0]} : [3, 3] float64",
    "%5 = transpose(%0) {perm: [1, 0]} : [3, 3] float64",
    "%6 = matmul(%4, %5) : [3, 3] float64",
    "%7 = transpose(%2) {perm: [0, 2, 1]} : [2, 3, 3] float64",
    "%8 = transpose(%1) {perm: [0, 2, 1]} : [2, 3, 3] float64",
    "%9 = matmul(%7, %8) : [2, 3, 3] float64",
    "outputs: y = %6, Y = %9",
  ),
};
cases["broadcast(x, shape(x)) → x"] = {
  build: (g) => void g.output("y", g.exp(g.apply("broadcastTo", [x23(g)], { shape: [2, 3] }))),
  before: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = broadcastTo(%0) : [2, 3] float64",
    "%2 = exp(%1) : [2, 3] float64",
    "outputs: y = %2",
  ),
  after: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = exp(%0) : [2, 3] float64",
    "outputs: y = %1",
  ),
};
cases["f(x, broadcast(y)) → f(x, y)"] = {
  build: (g) => void g.output("z", g.add(x23(g), g.broadcastTo(g.input("y", [3]), [2, 3]))),
  before: lines(
    '%0 = input "x" : [2, 3] float64',
    '%1 = input "y" : [3] float64',
    "%2 = broadcastTo(%1) : [2, 3] float64",
    "%3 = add(%0, %2) : [2, 3] float64",
    "outputs: z = %3",
  ),
  after: lines(
    '%0 = input "x" : [2, 3] float64',
    '%1 = input "y" : [3] float64',
    "%2 = add(%0, %1) : [2, 3] float64",
    "outputs: z = %2",
  ),
};
cases["f(broadcast(x)) → broadcast(f(x))"] = {
  build: (g) => void g.output("y", g.exp(g.broadcastTo(g.input("x", [3]), [2, 3]))),
  before: lines(
    '%0 = input "x" : [3] float64',
    "%1 = broadcastTo(%0) : [2, 3] float64",
    "%2 = exp(%1) : [2, 3] float64",
    "outputs: y = %2",
  ),
  after: lines(
    '%0 = input "x" : [3] float64',
    "%1 = exp(%0) : [3] float64",
    "%2 = broadcastTo(%1) : [2, 3] float64",
    "outputs: y = %2",
  ),
};
cases["reduce over size-1 axes → reshape(x)"] = {
  build: (g) => {
    const x = g.input("x", [2, 1, 3]);
    g.output("s", g.sum(x, [1]));
    g.output("m", g.max(x, [1], true));
  },
  before: lines(
    '%0 = input "x" : [2, 1, 3] float64',
    "%1 = sum(%0) {axes: [1], keepDims: false} : [2, 3] float64",
    "%2 = max(%0) {axes: [1], keepDims: true} : [2, 1, 3] float64",
    "outputs: s = %1, m = %2",
  ),
  after: lines(
    '%0 = input "x" : [2, 1, 3] float64',
    "%1 = reshape(%0) : [2, 3] float64",
    "%2 = reshape(%0) : [2, 1, 3] float64",
    "outputs: s = %1, m = %2",
  ),
};
cases["relu'(z) → relu'(relu(z))"] = {
  build: (g) => {
    const z = x23(g);
    g.output("a", g.relu(z));
    g.output("mask", g.heaviside(z));
  },
  before: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = relu(%0) : [2, 3] float64",
    "%2 = heaviside(%0) : [2, 3] float64",
    "outputs: a = %1, mask = %2",
  ),
  after: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = relu(%0) : [2, 3] float64",
    "%2 = heaviside(%1) : [2, 3] float64",
    "outputs: a = %1, mask = %2",
  ),
};
const pool2 = { kernel: [2, 2], stride: [2, 2], padding: [0, 0] };
cases["maxpool_transpose(h at idx) ⊙ m → maxpool_transpose((h ⊙ m[idx]) at idx)"] = {
  build: (g) => {
    const idx = g.apply("maxPool2dIndex", [g.input("x", [1, 4, 4])], pool2);
    const s = g.apply("maxPool2dGrad", [g.input("h", [1, 2, 2]), idx], { shape: [1, 4, 4] });
    g.output("y", g.mul(s, g.heaviside(g.input("z", [1, 4, 4]))));
  },
  before: lines(
    '%0 = input "x" : [1, 4, 4] float64',
    '%1 = input "h" : [1, 2, 2] float64',
    '%2 = input "z" : [1, 4, 4] float64',
    "%3 = maxPool2dIndex(%0) {kernel: [2, 2], padding: [0, 0], stride: [2, 2]} : [1, 2, 2] int32",
    "%4 = maxPool2dGrad(%1, %3) : [1, 4, 4] float64",
    "%5 = heaviside(%2) : [1, 4, 4] float64",
    "%6 = mul(%4, %5) : [1, 4, 4] float64",
    "outputs: y = %6",
  ),
  after: lines(
    '%0 = input "x" : [1, 4, 4] float64',
    '%1 = input "h" : [1, 2, 2] float64',
    '%2 = input "z" : [1, 4, 4] float64',
    "%3 = heaviside(%2) : [1, 4, 4] float64",
    "%4 = maxPool2dIndex(%0) {kernel: [2, 2], padding: [0, 0], stride: [2, 2]} : [1, 2, 2] int32",
    "%5 = maxPool2dGather(%3, %4) : [1, 2, 2] float64",
    "%6 = mul(%1, %5) : [1, 2, 2] float64",
    "%7 = maxPool2dGrad(%6, %4) : [1, 4, 4] float64",
    "outputs: y = %7",
  ),
};
cases["f(z)[idx] → f(z[idx])"] = {
  build: (g) => {
    const a = g.relu(g.input("x", [1, 4, 4]));
    const idx = g.apply("maxPool2dIndex", [a], pool2);
    g.output("p", g.apply("maxPool2dGather", [a, idx]));
    g.output("y", g.apply("maxPool2dGather", [g.heaviside(a), idx]));
  },
  before: lines(
    '%0 = input "x" : [1, 4, 4] float64',
    "%1 = relu(%0) : [1, 4, 4] float64",
    "%2 = maxPool2dIndex(%1) {kernel: [2, 2], padding: [0, 0], stride: [2, 2]} : [1, 2, 2] int32",
    "%3 = maxPool2dGather(%1, %2) : [1, 2, 2] float64",
    "%4 = heaviside(%1) : [1, 4, 4] float64",
    "%5 = maxPool2dGather(%4, %2) : [1, 2, 2] float64",
    "outputs: p = %3, y = %5",
  ),
  after: lines(
    '%0 = input "x" : [1, 4, 4] float64',
    "%1 = relu(%0) : [1, 4, 4] float64",
    "%2 = maxPool2dIndex(%1) {kernel: [2, 2], padding: [0, 0], stride: [2, 2]} : [1, 2, 2] int32",
    "%3 = maxPool2dGather(%1, %2) : [1, 2, 2] float64",
    "%4 = heaviside(%3) : [1, 2, 2] float64",
    "outputs: p = %3, y = %4",
  ),
};
cases["Σ[plane axes…](maxpool_transpose(h at idx)) → Σ[plane axes…](h)"] = {
  build: (g) => {
    const idx = g.apply("maxPool2dIndex", [g.input("x", [2, 4, 4])], pool2);
    g.output("y", g.sum(g.apply("maxPool2dGrad", [g.input("h", [2, 2, 2]), idx], { shape: [2, 4, 4] }), [1, 2]));
  },
  before: lines(
    '%0 = input "x" : [2, 4, 4] float64',
    '%1 = input "h" : [2, 2, 2] float64',
    "%2 = maxPool2dIndex(%0) {kernel: [2, 2], padding: [0, 0], stride: [2, 2]} : [2, 2, 2] int32",
    "%3 = maxPool2dGrad(%1, %2) : [2, 4, 4] float64",
    "%4 = sum(%3) {axes: [1, 2], keepDims: false} : [2] float64",
    "outputs: y = %4",
  ),
  after: lines(
    '%0 = input "x" : [2, 4, 4] float64',
    '%1 = input "h" : [2, 2, 2] float64',
    "%2 = sum(%1) {axes: [1, 2], keepDims: false} : [2] float64",
    "outputs: y = %2",
  ),
};
cases["custom(x…, f) → f"] = {
  build: (g) => void g.output("y", g.exp(g.customGrad((g, a) => g.tanh(a), (_g, _ins, _out, dy) => [dy])(x23(g)))),
  before: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = tanh(%0) : [2, 3] float64",
    "%2 = customVjp(%0, %1) {rule: 0, vjp: (_g, _ins, _out, dy) => [dy]} : [2, 3] float64",
    "%3 = exp(%2) : [2, 3] float64",
    "outputs: y = %3",
  ),
  after: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = tanh(%0) : [2, 3] float64",
    "%2 = exp(%1) : [2, 3] float64",
    "outputs: y = %2",
  ),
};
cases["stop(x) → x"] = {
  build: (g) => void g.output("y", g.exp(g.stopGradient(x23(g)))),
  before: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = stopGradient(%0) : [2, 3] float64",
    "%2 = exp(%1) : [2, 3] float64",
    "outputs: y = %2",
  ),
  after: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = exp(%0) : [2, 3] float64",
    "outputs: y = %1",
  ),
};
cases["x · 1 → x"] = {
  build: (g) => {
    g.output("a", g.exp(g.mul(x23(g), 1)));
    g.output("b", g.exp(g.mul(1, g.input("y", [3]))));
  },
  before: lines(
    '%0 = input "x" : [2, 3] float64',
    '%1 = input "y" : [3] float64',
    "%2 = constant 1 : [] float64",
    "%3 = mul(%0, %2) : [2, 3] float64",
    "%4 = exp(%3) : [2, 3] float64",
    "%5 = mul(%2, %1) : [3] float64",
    "%6 = exp(%5) : [3] float64",
    "outputs: a = %4, b = %6",
  ),
  after: lines(
    '%0 = input "x" : [2, 3] float64',
    '%1 = input "y" : [3] float64',
    "%2 = exp(%0) : [2, 3] float64",
    "%3 = exp(%1) : [3] float64",
    "outputs: a = %2, b = %3",
  ),
};
cases["x + 0 → x"] = {
  build: (g) => {
    const x = x23(g);
    g.output("a", g.exp(g.add(x, 0)));
    g.output("b", g.exp(g.add(0, g.input("y", [3]))));
    g.output("c", g.exp(g.sub(x, 0)));
  },
  before: lines(
    '%0 = input "x" : [2, 3] float64',
    '%1 = input "y" : [3] float64',
    "%2 = constant 0 : [] float64",
    "%3 = add(%0, %2) : [2, 3] float64",
    "%4 = exp(%3) : [2, 3] float64",
    "%5 = add(%2, %1) : [3] float64",
    "%6 = exp(%5) : [3] float64",
    "%7 = sub(%0, %2) : [2, 3] float64",
    "%8 = exp(%7) : [2, 3] float64",
    "outputs: a = %4, b = %6, c = %8",
  ),
  after: lines(
    '%0 = input "x" : [2, 3] float64',
    '%1 = input "y" : [3] float64',
    "%2 = exp(%0) : [2, 3] float64",
    "%3 = exp(%1) : [3] float64",
    "outputs: a = %2, b = %3, c = %2",
  ),
};
cases["−(−x) → x"] = {
  build: (g) => void g.output("y", g.exp(g.neg(g.neg(x23(g))))),
  before: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = neg(%0) : [2, 3] float64",
    "%2 = neg(%1) : [2, 3] float64",
    "%3 = exp(%2) : [2, 3] float64",
    "outputs: y = %3",
  ),
  after: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = exp(%0) : [2, 3] float64",
    "outputs: y = %1",
  ),
};
cases["x · (−1) → −x"] = {
  build: (g) => {
    g.output("a", g.mul(x23(g), -1));
    g.output("b", g.mul(-1, g.input("y", [3])));
  },
  before: lines(
    '%0 = input "x" : [2, 3] float64',
    '%1 = input "y" : [3] float64',
    "%2 = constant -1 : [] float64",
    "%3 = mul(%0, %2) : [2, 3] float64",
    "%4 = mul(%2, %1) : [3] float64",
    "outputs: a = %3, b = %4",
  ),
  after: lines(
    '%0 = input "x" : [2, 3] float64',
    '%1 = input "y" : [3] float64',
    "%2 = neg(%0) : [2, 3] float64",
    "%3 = neg(%1) : [3] float64",
    "outputs: a = %2, b = %3",
  ),
};
cases["k·x + (−k)·y → k·(x − y)"] = {
  build: (g) => {
    const x = x23(g);
    const y = g.input("y", [2, 3]);
    g.output("a", g.add(g.mul(x, 0.25), g.mul(y, -0.25)));
    g.output("b", g.add(g.mul(-0.5, x), g.mul(0.5, y)));
  },
  before: lines(
    '%0 = input "x" : [2, 3] float64',
    '%1 = input "y" : [2, 3] float64',
    "%2 = constant 0.25 : [] float64",
    "%3 = mul(%0, %2) : [2, 3] float64",
    "%4 = constant -0.25 : [] float64",
    "%5 = mul(%1, %4) : [2, 3] float64",
    "%6 = add(%3, %5) : [2, 3] float64",
    "%7 = constant -0.5 : [] float64",
    "%8 = mul(%7, %0) : [2, 3] float64",
    "%9 = constant 0.5 : [] float64",
    "%10 = mul(%9, %1) : [2, 3] float64",
    "%11 = add(%8, %10) : [2, 3] float64",
    "outputs: a = %6, b = %11",
  ),
  after: lines(
    '%0 = input "x" : [2, 3] float64',
    '%1 = input "y" : [2, 3] float64',
    "%2 = sub(%0, %1) : [2, 3] float64",
    "%3 = constant 0.25 : [] float64",
    "%4 = mul(%2, %3) : [2, 3] float64",
    "%5 = sub(%1, %0) : [2, 3] float64",
    "%6 = constant 0.5 : [] float64",
    "%7 = mul(%5, %6) : [2, 3] float64",
    "outputs: a = %4, b = %7",
  ),
};
cases["x + (−y) → x − y"] = {
  build: (g) => void g.output("z", g.add(x23(g), g.neg(g.input("y", [3])))),
  before: lines(
    '%0 = input "x" : [2, 3] float64',
    '%1 = input "y" : [3] float64',
    "%2 = neg(%1) : [3] float64",
    "%3 = add(%0, %2) : [2, 3] float64",
    "outputs: z = %3",
  ),
  after: lines(
    '%0 = input "x" : [2, 3] float64',
    '%1 = input "y" : [3] float64',
    "%2 = sub(%0, %1) : [2, 3] float64",
    "outputs: z = %2",
  ),
};
cases["x¹ → x"] = {
  build: (g) => void g.output("y", g.exp(g.pow(x23(g), 1))),
  before: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = pow(%0) {exponent: 1} : [2, 3] float64",
    "%2 = exp(%1) : [2, 3] float64",
    "outputs: y = %2",
  ),
  after: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = exp(%0) : [2, 3] float64",
    "outputs: y = %1",
  ),
};
cases["x^2 → square(x)"] = {
  build: (g) => void g.output("y", g.pow(x23(g), 2)),
  before: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = pow(%0) {exponent: 2} : [2, 3] float64",
    "outputs: y = %1",
  ),
  after: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = square(%0) : [2, 3] float64",
    "outputs: y = %1",
  ),
};
cases["log σ(x) → −softplus(−x)  (stabilised)"] = {
  build: (g) => void g.output("y", g.log(g.sigmoid(x23(g)))),
  before: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = sigmoid(%0) : [2, 3] float64",
    "%2 = log(%1) : [2, 3] float64",
    "outputs: y = %2",
  ),
  after: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = neg(%0) : [2, 3] float64",
    "%2 = softplus(%1) : [2, 3] float64",
    "%3 = neg(%2) : [2, 3] float64",
    "outputs: y = %3",
  ),
};
cases["log(1 − σ(x)) → −softplus(x)  (stabilised)"] = {
  build: (g) => void g.output("y", g.log(g.sub(1, g.sigmoid(x23(g))))),
  before: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = constant 1 : [] float64",
    "%2 = sigmoid(%0) : [2, 3] float64",
    "%3 = sub(%1, %2) : [2, 3] float64",
    "%4 = log(%3) : [2, 3] float64",
    "outputs: y = %4",
  ),
  after: lines(
    '%0 = input "x" : [2, 3] float64',
    "%1 = softplus(%0) : [2, 3] float64",
    "%2 = neg(%1) : [2, 3] float64",
    "outputs: y = %2",
  ),
};

/**
 * The two graphs compute the same roots at two random points: to 1e-14 relative where finite
 * (a rewrite may reorder a product or use a stable formula), the same ±∞ or NaN elsewhere.
 */
function sameMeaning(before: Graph, after: Graph) {
  for (const seed of [1, 2]) {
    const values = sampleValues(before, seed);
    const a = rootValues(after, values);
    const b = rootValues(before, values);
    expect(a.map((r) => r.name)).toEqual(b.map((r) => r.name));
    for (let i = 0; i < b.length; i++) {
      const [got, want] = [a[i]!.values, b[i]!.values];
      const finite = want.map((v) => (Number.isFinite(v) ? 1 : 0));
      expect([...got].map((v, j) => (finite[j] ? 0 : v)), `${b[i]!.name}: the non-finite elements`).toEqual([...want].map((v, j) => (finite[j] ? 0 : v)));
      expect(maxRelErr(got.map((v, j) => (finite[j] ? v : 0)), want.map((v, j) => (finite[j] ? v : 0))), b[i]!.name).toBeLessThanOrEqual(1e-14);
    }
  }
}

for (const [table, rows] of [
  ["rules", rules],
  ["stabilisations", stabilisations],
  ["afterDifferentiation (the dropStopGradients pass)", afterDifferentiation],
] as const) {
  describe(`simplify: ${table}, one rule at a time`, () => {
    for (const rule of rows) {
      it(rule.law, () => {
        const c = cases[rule.law];
        if (!c) expect.fail(`no before/after case for the law "${rule.law}": add one to test/passes/simplify.test.ts`);
        const before = graphOf((g) => c.build(g));
        const log: Rewrite[] = [];
        const after = simplify(before, log, [rule]);
        expect(printGraph(before)).toBe(c.before);
        expect(printGraph(after)).toBe(c.after);
        expect(log.length).toBeGreaterThan(0);
        expect(new Set(log.map((r) => r.law))).toEqual(new Set([rule.law]));
        sameMeaning(before, after);
      });
    }
  });
}

describe("simplify: every law has a case", () => {
  it("each row of rules, stabilisations and afterDifferentiation has a case, and each case names a row", () => {
    const laws = [...rules, ...stabilisations, ...afterDifferentiation].map((r) => r.law);
    expect(laws.filter((l) => !(l in cases))).toEqual([]);
    expect(Object.keys(cases).filter((l) => !laws.includes(l))).toEqual([]);
    expect(new Set(laws).size).toBe(laws.length);
  });
});

const folds: Record<string, Case> = {
  "an op whose inputs are all constants becomes one constant (one value when all are equal)": {
    build: (g) => {
      const x = x23(g);
      g.output("a", g.mul(x, g.add(g.constant([1, 2, 3]), 3)));
      g.output("b", g.mul(x, g.exp(g.constant([0, 0, 0]))));
      g.output("c", g.mul(x, g.reshape(g.constant(2), [1, 1])));
    },
    before: lines(
      '%0 = input "x" : [2, 3] float64',
      "%1 = constant [1, 2, 3] : [3] float64",
      "%2 = constant 3 : [] float64",
      "%3 = add(%1, %2) : [3] float64",
      "%4 = mul(%0, %3) : [2, 3] float64",
      "%5 = constant [0, 0, 0] : [3] float64",
      "%6 = exp(%5) : [3] float64",
      "%7 = mul(%0, %6) : [2, 3] float64",
      "%8 = constant 2 : [] float64",
      "%9 = reshape(%8) : [1, 1] float64",
      "%10 = mul(%0, %9) : [2, 3] float64",
      "outputs: a = %4, b = %7, c = %10",
    ),
    after: lines(
      '%0 = input "x" : [2, 3] float64',
      "%1 = constant [4, 5, 6] : [3] float64",
      "%2 = mul(%0, %1) : [2, 3] float64",
      "%3 = constant 1 : [3] float64",
      "%4 = mul(%0, %3) : [2, 3] float64",
      "%5 = constant 2 : [1, 1] float64",
      "%6 = mul(%0, %5) : [2, 3] float64",
      "outputs: a = %2, b = %4, c = %6",
    ),
  },
  "results over 64 elements, non-finite results and views of constants stay computed": {
    build: (g) => {
      const x = g.input("x", [65]);
      g.output("big", g.mul(x, g.exp(g.constant(0, [65]))));
      g.output("inf", g.mul(g.input("y", [2]), g.log(g.constant([0, 1]))));
      g.output("view", g.mul(g.input("z", [3, 2]), g.transpose(g.constant([1, 2, 3, 4, 5, 6], [2, 3]))));
    },
    before: lines(
      '%0 = input "x" : [65] float64',
      '%1 = input "y" : [2] float64',
      '%2 = input "z" : [3, 2] float64',
      "%3 = constant 0 : [65] float64",
      "%4 = exp(%3) : [65] float64",
      "%5 = mul(%0, %4) : [65] float64",
      "%6 = constant [0, 1] : [2] float64",
      "%7 = log(%6) : [2] float64",
      "%8 = mul(%1, %7) : [2] float64",
      "%9 = constant [1, 2, 3, 4, 5, 6] : [2, 3] float64",
      "%10 = transpose(%9) {perm: [1, 0]} : [3, 2] float64",
      "%11 = mul(%2, %10) : [3, 2] float64",
      "outputs: big = %5, inf = %8, view = %11",
    ),
    after: lines(
      '%0 = input "x" : [65] float64',
      '%1 = input "y" : [2] float64',
      '%2 = input "z" : [3, 2] float64',
      "%3 = constant 0 : [65] float64",
      "%4 = exp(%3) : [65] float64",
      "%5 = mul(%0, %4) : [65] float64",
      "%6 = constant [0, 1] : [2] float64",
      "%7 = log(%6) : [2] float64",
      "%8 = mul(%1, %7) : [2] float64",
      "%9 = constant [1, 2, 3, 4, 5, 6] : [2, 3] float64",
      "%10 = transpose(%9) {perm: [1, 0]} : [3, 2] float64",
      "%11 = mul(%2, %10) : [3, 2] float64",
      "outputs: big = %5, inf = %8, view = %11",
    ),
  },
};

describe("foldConstants", () => {
  for (const [name, c] of Object.entries(folds))
    it(name, () => {
      const before = graphOf((g) => c.build(g));
      const after = foldConstants(before);
      expect(printGraph(before)).toBe(c.before);
      expect(printGraph(after)).toBe(c.after);
      sameMeaning(before, after);
    });
});
