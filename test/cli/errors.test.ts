/**
 * Error cases: every malformed model under test/fixtures/bad/ must fail to compile with a
 * `file:line:col - error FGnnn: message` diagnostic at the line of the mistake (the line holding
 * the fixture's `MISTAKE` comment), with a message naming the op and every operand shape, exit
 * code 1, and no file written or changed.
 *
 * Every fixture is compiled in-process with `compile()` (each into a fresh, empty out dir) and
 * through the real CLI, both alone (one process per fixture, at most two at a time) and all
 * together in one run.
 */
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compile, formatDiagnostic } from "../../src/compile.js";
import { ERROR_CODES, type ErrorCode } from "../../src/ir/shape.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BAD = "test/fixtures/bad";
const GOOD = "models/seed-net.model.ts";

interface Case {
  /** Fixture base name: test/fixtures/bad/<name>.model.ts */
  name: string;
  /** The line of the mistake (it carries a `MISTAKE` comment). */
  line: number;
  /** The file of the mistake, when it is a module the fixture imports (default: the fixture). */
  file?: string;
  code: ErrorCode;
  /** Text the message must contain (all of them, when several). */
  message: string | string[];
}

// prettier-ignore
const CASES: Case[] = [
  // shape mismatch, one or more per op family
  { name: "add-broadcast", line: 8, code: "FG140", message: "add: a is [8,3] but b is [8,4]: sizes 3 and 4 at axis -1 cannot be broadcast" },
  { name: "mul-broadcast", line: 7, code: "FG140", message: "mul: a is [2,3,4] but b is [5,4]: sizes 3 and 5 at axis -2 cannot be broadcast" },
  { name: "sub-broadcast", line: 7, code: "FG140", message: "sub: a is [4,1] but b is [2,3]: sizes 4 and 2 at axis -2 cannot be broadcast" },
  { name: "matmul-inner", line: 7, code: "FG141", message: "matmul: a is [3,4] but b is [5,2]: inner sizes 4 and 5 differ" },
  { name: "matmul-vector", line: 7, code: "FG141", message: "matmul: a is [4] but b is [5]: inner sizes 4 and 5 differ" },
  { name: "matmul-batch", line: 7, code: "FG142", message: "matmul: a is [2,3,4] but b is [3,4,5]: batch axes [2] and [3] cannot be broadcast" },
  { name: "matmul-scalar", line: 7, code: "FG143", message: "matmul: a is [4] but b is []: matmul needs operands of rank 1 or more" },
  { name: "linear-inner", line: 7, code: "FG144", message: "linear: x is [8,30] but W is [16,31]: inner sizes 30 and 31 differ" },
  { name: "linear-w-rank", line: 7, code: "FG144", message: "linear: x is [8,30] but W is [30]: W must be 2-D, shaped [out, in]" },
  { name: "linear-bias", line: 8, code: "FG145", message: "linear: x is [8,30], W is [16,30] but b is [15]: b must be [16], the out size of W" },
  { name: "broadcast-to", line: 7, code: "FG146", message: "broadcastTo: x is [3,2] but the target is [3,4]: sizes 2 and 4 at axis -1 cannot be broadcast" },
  { name: "broadcast-to-rank", line: 7, code: "FG146", message: "broadcastTo: x is [2,3] but the target is [3]: x has 2 axes and the target 1: broadcasting never removes axes" },
  { name: "mse-shape", line: 9, code: "FG147", message: "mse: pred is [8,1] but target is [8]: shapes must be equal (ranks 2 and 1 differ)" },
  { name: "bce-shape", line: 9, code: "FG147", message: "bce: prob is [8,1] but target is [8,2]: shapes must be equal (sizes 1 and 2 differ at axis -1)" },
  { name: "bcewithlogits-shape", line: 9, code: "FG147", message: "bceWithLogits: logits is [8,1] but target is [1,8]: shapes must be equal (sizes 1 and 8 differ at axis -1)" },
  { name: "softmaxce-shape", line: 9, code: "FG147", message: "softmaxCrossEntropy: logits is [8,10] but targetProbs is [8,9]: shapes must be equal (sizes 10 and 9 differ at axis -1)" },
  // bad axes (reductions, softmax)
  { name: "sum-axis", line: 7, code: "FG150", message: "sum: x is [3,4] but axis 2 is out of range: valid axes for rank 2 are -2..1" },
  { name: "mean-axis", line: 7, code: "FG150", message: "mean: x is [3,4] but axis -3 is out of range: valid axes for rank 2 are -2..1" },
  { name: "max-axes-repeat", line: 7, code: "FG150", message: "max: x is [3,4] but axes [0,-2] name axis 0 more than once (0 and -2)" },
  { name: "axis-not-integer", line: 7, code: "FG150", message: "sum: x is [3,4] but axis 0.5 is not an integer (valid axes for rank 2 are -2..1)" },
  { name: "softmax-axis", line: 7, code: "FG150", message: "softmax: x is [8,10] but axis 2 is out of range: valid axes for rank 2 are -2..1" },
  { name: "logsoftmax-axis", line: 7, code: "FG150", message: "logSoftmax: x is [8,10] but axis -3 is out of range: valid axes for rank 2 are -2..1" },
  // transpose and reshape
  { name: "transpose-perm", line: 7, code: "FG151", message: "transpose: x is [2,3,4] but perm [2,1,1] is not a permutation of its 3 axes: axis 1 appears more than once and axis 0 is missing" },
  { name: "transpose-perm-length", line: 7, code: "FG151", message: "transpose: x is [2,3,4] but perm [1,0] is not a permutation of its 3 axes: it has 2 entries" },
  { name: "reshape-size", line: 7, code: "FG152", message: "reshape: x is [3,4] (12 elements) but the new shape [5,2] has 10 elements" },
  { name: "reshape-infer", line: 7, code: "FG152", message: "reshape: x is [3,4] (12 elements) but the new shape [5,-1] cannot be completed: 12 is not a multiple of 5" },
  // names
  { name: "dup-input-input", line: 6, code: "FG111", message: 'input: duplicate name "x": input "x" is already declared at line 5' },
  { name: "dup-param-input", line: 6, code: "FG111", message: 'param: duplicate name "x": input "x" is already declared at line 5' },
  { name: "dup-output-output", line: 9, code: "FG111", message: 'output: duplicate name "y": output "y" is already declared at line 8' },
  { name: "name-empty", line: 5, code: "FG110", message: 'input: invalid name "": a name must not be empty' },
  { name: "name-leading-digit", line: 6, code: "FG110", message: 'param: invalid name "1x": a name must not start with a digit' },
  { name: "name-dash", line: 7, code: "FG110", message: 'output: invalid name "a-b": the character "-" (U+002D) is not allowed' },
  { name: "name-constructor", line: 5, code: "FG110", message: 'input: invalid name "constructor": it is a property every JavaScript object has' },
  { name: "name-proto", line: 6, code: "FG110", message: 'param: invalid name "__proto__": it is a property every JavaScript object has' },
  { name: "name-reserved-word", line: 7, code: "FG110", message: 'output: invalid name "return": it is a JavaScript reserved word' },
  { name: "name-too-long", line: 6, code: "FG110", message: [`param: invalid name "${"w".repeat(40)}…": it is 100 characters long`, "at most 64 characters"] },
  { name: "name-emoji", line: 7, code: "FG110", message: 'output: invalid name "🔥": the character "🔥" (U+1F525) is not allowed' },
  // dimensions and values
  { name: "dim-zero", line: 5, code: "FG160", message: 'input: shape of "x" [0,3] has an invalid dimension 0 at axis 0: dimensions are positive integers' },
  { name: "dim-negative", line: 6, code: "FG160", message: 'param: shape of "W" [-1,3] has an invalid dimension -1 at axis 0: dimensions are positive integers' },
  { name: "dim-fraction", line: 5, code: "FG160", message: 'input: shape of "x" [8,1.5] has an invalid dimension 1.5 at axis 1: dimensions are positive integers' },
  { name: "dim-nan", line: 6, code: "FG160", message: 'param: shape of "W" [NaN,3] has an invalid dimension NaN at axis 0: dimensions are positive integers' },
  { name: "dim-infinity", line: 5, code: "FG160", message: 'input: shape of "x" [Infinity,3] has an invalid dimension Infinity at axis 0: dimensions are positive integers' },
  { name: "shape-not-array", line: 6, code: "FG160", message: 'param: shape of "W" must be an array of positive integers like [8, 30], got 3' },
  { name: "constant-length", line: 7, code: "FG161", message: "constant: 3 values do not fill shape [2,2] (4 elements)" },
  { name: "constant-nonfinite", line: 7, code: "FG162", message: "constant: values[1] is NaN (in [1,NaN,3]): values must be finite numbers" },
  { name: "number-nonfinite", line: 7, code: "FG162", message: "mul: b is Infinity: a number operand must be finite" },
  { name: "pow-exponent-nonfinite", line: 7, code: "FG162", message: "pow: exponent is Infinity: it must be a finite number" },
  { name: "arg-not-tensor", line: 7, code: "FG100", message: 'relu: x must be a tensor or a number, got the string "x"' },
  { name: "int-operand", line: 9, code: "FG165", message: "mse: target is an int32 tensor [8,1], but mse takes only float tensors here" },
  // grad and customGrad (issue 14)
  { name: "grad-nonscalar", line: 8, code: "FG200", message: "grad: y is [4,1]: grad differentiates a scalar (shape [])" },
  { name: "grad-not-tensor", line: 8, code: "FG201", message: "grad: xs[0] is 3, not a tensor of this model's graph" },
  { name: "grad-unused", line: 9, code: "FG202", message: 'grad: y does not depend on xs[1] ("b2"), param [1]: its gradient would be 0; pass { allowUnused: true } to get zeros' },
  { name: "customgrad-count", line: 11, code: "FG203", message: "customGrad: the gradient rule must return an array of 2 gradients (one per input, null for none), got 1" },
  { name: "customgrad-shape", line: 11, code: "FG204", message: "customGrad: gradient 0 of the rule is float32 [3] but input 0 is float32 [4,3]: a gradient has its input's shape and dtype" },
  { name: "customgrad-not-function", line: 7, code: "FG205", message: "customGrad: the gradient rule must be a function (g, inputs, output, dOutput) => gradients, got 3" },
  { name: "input-options", line: 5, code: "FG166", message: 'input "x": dtype must be "int32" or the model\'s dtype "float32", got "int64"' },
  // integer tensors and dotted names (issue 12)
  { name: "name-dotted", line: 6, code: "FG171", message: 'param: invalid dotted name "conv1..weight": it has two dots in a row' },
  { name: "labels-float", line: 8, code: "FG172", message: 'crossEntropy: labels is a float32 tensor [8], but crossEntropy takes labels as an int32 tensor' },
  { name: "name-optimizer", line: 7, code: "FG173", message: 'param: invalid name "optimizer.W.exp_avg": names under "optimizer." are the checkpoint keys of the optimizer\'s state' },
  { name: "labels-smoothing", line: 8, code: "FG174", message: "crossEntropy: labelSmoothing must be a number in [0, 1], got 1.5" },
  { name: "labels-shape", line: 8, code: "FG175", message: "crossEntropy: logits is [8,10] but labels is [8,1]: labels must be shaped as logits without its last axis (the classes), [8]" },
  { name: "assign-target", line: 7, code: "FG113", message: "assign: the target must be a buffer declared with g.buffer(name, shape), got a param tensor [2,3]" },
  { name: "assign-shape", line: 7, code: "FG148", message: 'assign: buffer "bn.running_mean" is float32 [3] but the value is float32 [4]: they must be equal (no broadcasting)' },
  { name: "bymode-shape", line: 6, code: "FG149", message: "byMode: train is [4,3] but eval is [4]: both modes must give the same shape; here train is mul(...) [4,3] (line 6), eval is sum(...) [4] (line 6)" },
  // batch norm and dropout (state and modes)
  { name: "bn-rank", line: 7, code: "FG190", message: "batchNorm: x is [8] but batch norm takes x of rank 2, 3 or 4" },
  { name: "bn-running-shape", line: 7, code: "FG191", message: "batchNorm: x is [8,4] but runningMean is [8]: it must be [4], one value per channel (axis 1)" },
  { name: "bn-running-param", line: 7, code: "FG191", message: "batchNorm: x is [8,4] but runningMean is a param [4], not a buffer: declare it with g.buffer(name, [4])" },
  { name: "bn-weight-shape", line: 7, code: "FG192", message: "batchNorm: x is [2,3,5,5] but weight is [5]: it must be [3], one value per channel (axis 1)" },
  { name: "bn-momentum", line: 7, code: "FG193", message: "batchNorm: eps must be a finite number > 0, got 0" },
  { name: "bn-one-value", line: 7, code: "FG194", message: "batchNorm: x is [1,4]: each channel has 1 value, and training mode needs more than 1" },
  { name: "dropout-p", line: 6, code: "FG195", message: "dropout: p must be a probability in [0, 1) (the fraction of elements zeroed), got 1" },
  { name: "window-fit", line: 6, code: "FG153", message: "window: x is [1,3,4,4] but the kernel [5,5] (dilation [1,1]) spans 5 > 4 at axis 2; here x is x [1,3,4,4] (declared line 5)" },
  { name: "slice-empty", line: 6, code: "FG154", message: "slice: x is [4,6] but 4:2 along axis 1 selects nothing (tensors have no empty axes); here x is x [4,6] (declared line 5)" },
  { name: "pad-pairs", line: 6, code: "FG155", message: "pad: x is [2,3] but pads [[1,1]] is not one [before, after] pair of integers ≥ 0 per axis (2); here x is x [2,3] (declared line 5)" },
  // convolution and pooling
  { name: "conv-channels", line: 7, code: "FG180", message: "conv2d: x is [2,3,8,8], W is [4,2,3,3] but x has 3 channels and W takes 2" },
  { name: "conv-groups", line: 7, code: "FG181", message: "conv2d: x is [2,6,8,8], W is [4,3,3,3] but groups 4 must be a positive integer dividing both the 6 input and the 4 output channels" },
  { name: "conv-groups-out", line: 7, code: "FG181", message: "conv1d: x is [2,6,9], W is [5,3,3] but groups 2 must be a positive integer dividing both the 6 input and the 5 output channels" },
  { name: "conv-window", line: 7, code: "FG182", message: "conv2d: x is [1,1,4,4], W is [2,1,5,5] but the window spans 5 > 4, the padded input at axis 3" },
  { name: "pool-window", line: 6, code: "FG182", message: "avgPool2d: x is [1,2,3,3] but the window spans 4 > 3, the padded input at axis 2" },
  { name: "conv-stride", line: 7, code: "FG183", message: "conv2d: x is [1,2,8,8], W is [2,2,3,3] but stride [1,0] is not a positive integer or 2 of them" },
  { name: "conv-dilation", line: 7, code: "FG183", message: "conv1d: x is [1,2,9], W is [2,2,3] but dilation 1.5 is not a positive integer" },
  { name: "conv-padding", line: 7, code: "FG184", message: 'conv2d: x is [1,2,8,8], W is [2,2,3,3] but padding -1 is not a non-negative integer or 2 of them or "same"' },
  { name: "conv-same-stride", line: 7, code: "FG184", message: 'conv2d: x is [1,2,8,8], W is [2,2,3,3] but padding "same" needs stride 1, got stride [2,2]' },
  { name: "pool-padding", line: 6, code: "FG185", message: "maxPool2d: x is [1,2,8,8] but padding 2 is more than half the kernel [3,3] (at most 1 on axis 2)" },
  // sequence ops (issue 13)
  { name: "attention-head", line: 8, code: "FG220", message: "scaledDotProductAttention: q is [2,4,8], k is [2,4,6] but v is [2,4,8]: the head sizes of q and k differ (8 and 6)" },
  { name: "attention-length", line: 8, code: "FG220", message: "scaledDotProductAttention: q is [2,4,8], k is [2,5,8] but v is [2,4,8]: the key and value lengths differ (5 and 4)" },
  { name: "layernorm-weight", line: 7, code: "FG221", message: "layerNorm: x is [4,6] but weight is [4]: it must be [6], the last axis of x; here x is x [4,6] (declared line 5), weight is ln.weight [4] (declared line 6)" },
  { name: "concat-shape", line: 7, code: "FG222", message: "concat: xs are [2,3], [3,3]: sizes 2 and 3 differ at axis 0, off the axis 1 they are joined along" },
  { name: "stack-shape", line: 7, code: "FG222", message: "stack: xs are [2,3], [3,2]: stacked tensors must all have the same shape" },
  { name: "gelu-approximate", line: 6, code: "FG223", message: 'gelu: x is [4,6] but approximate is "erf": it must be "none" (the erf form) or "tanh"' },
  { name: "lstm-weights", line: 10, code: "FG224", message: "lstmCell: x is [2,3], h is [2,4], c is [2,4], Wih is [12,3], Whh is [16,4]: Wih must be [16, 3] (4H = 16 rows for the gates, the input size 3 columns)" },
  { name: "gru-weights", line: 9, code: "FG224", message: "gruCell: x is [2,3], h is [2,4], Wih is [12,3], Whh is [12,3]: Whh must be [12, 4] (3H = 12 rows for the gates, the hidden size 4 columns)" },
  { name: "param-init", line: 6, code: "FG164", message: 'param "W": unknown init "glorot" (known: zeros, ones, xavier, he, normal, uniform)' },
  // the loss and the model's interface
  { name: "loss-nonscalar", line: 8, code: "FG121", message: "loss: the loss must be a scalar (shape []), but it is [8]" },
  { name: "loss-no-param", line: 9, code: "FG122", message: "loss: the loss does not depend on any param (it uses only the inputs x, y), so there is nothing to train" },
  { name: "loss-not-tensor", line: 8, code: "FG120", message: "build(g) must return the loss tensor (or nothing, for an inference-only model), but it returned 0" },
  { name: "no-outputs-no-loss", line: 4, code: "FG123", message: "the model has no outputs and no loss" },
  // configuration
  { name: "optimizer-type", line: 6, code: "FG130", message: 'optimizer: unknown type "adagrad" (known: sgd, adam, adamw, rmsprop)' },
  { name: "optimizer-not-object", line: 5, code: "FG130", message: 'optimizer: expected an object like { type: "sgd", lr: 0.1 }, got "sgd"' },
  { name: "optimizer-field", line: 7, code: "FG131", message: 'optimizer: unknown field "beta" for sgd (known: lr, momentum, nesterov, weightDecay, clipGradNorm)' },
  { name: "optimizer-value", line: 4, code: "FG132", message: "optimizer: sgd.lr must be a finite number ≥ 0, got -0.1" },
  { name: "dtype", line: 4, code: "FG163", message: 'defineModel: dtype must be "float32" or "float64", got "float16"' },
  { name: "model-field", line: 5, code: "FG109", message: 'defineModel: unknown field "epochs" (known: dtype, optimizer, build)' },
  // loading the model file
  { name: "throws-top-level", line: 4, code: "FG101", message: "the model file threw while loading: hidden sizes must be positive, got 16, 0" },
  { name: "build-throws", line: 8, code: "FG108", message: "build(g) threw: no layer sizes given" },
  { name: "build-typeerror", line: 7, code: "FG108", message: "build(g) threw: TypeError: Cannot read properties of undefined (reading 'W')" },
  { name: "no-default-export", line: 3, code: "FG102", message: 'the model file has no default export; it exports the model as "model" instead' },
  { name: "no-export", line: 3, code: "FG102", message: "the model file has no default export; this defineModel(...) is not exported" },
  { name: "default-not-model", line: 4, code: "FG103", message: "the default export is not a model (it is a plain object, not the result of defineModel)" },
  { name: "syntax-error", line: 6, code: "FG106", message: "syntax error: ')' expected." },
  { name: "missing-module", line: 2, code: "FG107", message: 'cannot find module "./does-not-exist.js" imported by the model file' },
  { name: "missing-package", line: 3, code: "FG107", message: 'cannot find module "flatgrad-extras" imported by the model file' },
  // mistakes in a module the model file imports: reported in that module
  { name: "import-syntax-error", file: `test/fixtures/bad/lib/broken-helper.ts`, line: 3, code: "FG106", message: "syntax error in lib/broken-helper.ts, imported by the model file: ',' expected." },
  { name: "import-throws", file: `test/fixtures/bad/lib/throwing-helper.ts`, line: 3, code: "FG101", message: "lib/throwing-helper.ts, imported by the model file, threw while loading: expected 3 layer sizes, got 2" },
  { name: "import-missing-module", file: `test/fixtures/bad/lib/missing-import-helper.ts`, line: 2, code: "FG107", message: 'cannot find module "./no-such-helper.js" imported by lib/missing-import-helper.ts (which the model file imports)' },
];

/** Fixtures also run alone through the CLI, one process each (the rest run through it all together). */
const CLI_ALONE = ["linear-inner", "matmul-batch", "dup-param-input", "name-emoji", "optimizer-type", "throws-top-level", "syntax-error", "missing-module", "no-default-export", "loss-no-param", "import-throws"];

const rel = (c: Case) => `${BAD}/${c.name}.model.ts`;
/** Where the diagnostic points: the fixture, or the imported module that holds the mistake. */
const at = (c: Case) => c.file ?? rel(c);
const DIAG = /^(.+?):(\d+):(\d+) - error (FG\d{3}): (.*)$/;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["src/cli/bin.mjs", "compile", ...args], { cwd: ROOT, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Run tasks with at most `limit` at a time. */
async function pool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const out = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return out;
}

const tmpRoot = mkdtempSync(path.join(os.tmpdir(), "flatgrad-errors-"));
let tmpCount = 0;
const freshDir = () => {
  const d = path.join(tmpRoot, `out-${tmpCount++}`);
  mkdirSync(d);
  return d;
};
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

/** The diagnostic lines in a CLI's stderr for one model file. */
const linesFor = (stderr: string, file: string) => stderr.split("\n").filter((l) => l.startsWith(`${file}:`));

/** Check one diagnostic line against a case: exact file and line, a column inside the line, the code and the message. */
function expectDiagnostic(lineText: string | undefined, c: Case) {
  expect(lineText, `no diagnostic for ${c.name}`).toBeDefined();
  const m = DIAG.exec(lineText!);
  expect(m, `not a diagnostic line: ${lineText}`).not.toBeNull();
  const [, file, line, col, code, message] = m!;
  expect(file).toBe(at(c));
  expect(Number(line), `${c.name}: line`).toBe(c.line);
  const sourceLine = readFileSync(path.join(ROOT, at(c)), "utf8").split("\n")[c.line - 1]!;
  expect(Number(col), `${c.name}: column`).toBeGreaterThanOrEqual(1);
  expect(Number(col), `${c.name}: column`).toBeLessThanOrEqual(sourceLine.length);
  expect(code, `${c.name}: code`).toBe(c.code);
  for (const text of [c.message].flat()) expect(message, c.name).toContain(text);
}

describe("error fixtures", () => {
  it("every fixture has a case, and every case a fixture", () => {
    const files = readdirSync(path.join(ROOT, BAD)).filter((f) => f.endsWith(".model.ts"));
    expect(files.map((f) => f.replace(/\.model\.ts$/, "")).sort()).toEqual(CASES.map((c) => c.name).sort());
  });

  it.each(CASES)("$name: the MISTAKE comment is on line $line, and the file follows the model-file form", (c) => {
    const src = readFileSync(path.join(ROOT, rel(c)), "utf8");
    expect(src).toContain('import { defineModel } from "flatgrad";');
    expect(src).toMatch(/^export default |^defineModel\(|^export const /m);
    const lines = readFileSync(path.join(ROOT, at(c)), "utf8").split("\n");
    expect(lines[c.line - 1], `${c.name}: line ${c.line} of ${at(c)}`).toContain("// MISTAKE:");
    expect(lines.filter((l) => l.includes("MISTAKE")).length).toBe(1);
    if (c.file) expect(src).toContain(path.basename(c.file, ".ts"));
  });

  it("covers every error code a model file can cause", () => {
    // FG230 (an op without a PyTorch form) is tested in test/interop/torch.test.ts, FG231–FG235 (ONNX
    // export and import) in test/interop/onnx.test.ts;
    // FG104 (unreadable file) and FG105 (two models, one output) are tested below, FG170 (a file
    // that cannot be written) in write.test.ts; FG112 cannot be reached from a model file; FG900
    // is an internal error
    const covered = new Set<string>([...CASES.map((c) => c.code), "FG104", "FG105", "FG112", "FG170", "FG230", "FG231", "FG232", "FG233", "FG234", "FG235", "FG900"]);
    expect(Object.keys(ERROR_CODES).filter((k) => !covered.has(k))).toEqual([]);
  });

  it("docs/errors.md lists every code with its meaning", () => {
    const doc = readFileSync(path.join(ROOT, "docs/errors.md"), "utf8");
    const rows = new Map([...doc.matchAll(/^\|\s*`?(FG\d{3})`?\s*\|\s*(.+?)\s*\|/gm)].map((m) => [m[1]!, m[2]!]));
    expect([...rows.keys()].sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [code, meaning] of Object.entries(ERROR_CODES)) expect(rows.get(code), code).toBe(meaning);
  });
});

describe("compile() in-process", () => {
  it.each(CASES)("$name → $code at line $line, nothing written", async (c) => {
    const out = freshDir();
    const res = await compile({ models: [rel(c)], outDir: out, root: ROOT });
    expect(res.diagnostics).toHaveLength(1);
    expectDiagnostic(formatDiagnostic(res.diagnostics[0]!), c);
    expect(readdirSync(out)).toEqual([]);
  });

  it("an unreadable model file → FG104", async () => {
    const out = freshDir();
    const res = await compile({ models: [`${BAD}/no-such-file.model.ts`], outDir: out, root: ROOT });
    expect(res.diagnostics.map((d) => [d.file, d.line, d.code])).toEqual([[`${BAD}/no-such-file.model.ts`, 1, "FG104"]]);
    expect(res.diagnostics[0]!.message).toContain("cannot read model file");
    expect(readdirSync(out)).toEqual([]);
  });

  it("two models that would write the same file → FG105", async () => {
    const out = freshDir();
    const dirs = ["a", "b"].map((d) => path.join(ROOT, "test", ".tmp", `errors-${process.pid}`, d));
    for (const d of dirs) {
      mkdirSync(d, { recursive: true });
      cpSync(path.join(ROOT, GOOD), path.join(d, "seed-net.model.ts"));
    }
    try {
      const res = await compile({ models: dirs.map((d) => path.join(d, "seed-net.model.ts")), outDir: out, root: ROOT });
      expect(res.diagnostics.map((d) => d.code)).toEqual(["FG105"]);
      expect(readdirSync(out)).toEqual([]);
    } finally {
      rmSync(path.dirname(dirs[0]!), { recursive: true, force: true });
    }
  });

  it("a good model with a bad one: nothing is written", async () => {
    const good = freshDir();
    const ok = await compile({ models: [GOOD], outDir: good, root: ROOT });
    expect(ok.diagnostics).toEqual([]);
    expect(readdirSync(good)).toEqual(["seed-net.ts"]);

    const out = freshDir();
    const c = CASES.find((k) => k.name === "linear-inner")!;
    const res = await compile({ models: [GOOD, rel(c)], outDir: out, root: ROOT });
    expect(res.diagnostics).toHaveLength(1);
    expectDiagnostic(formatDiagnostic(res.diagnostics[0]!), c);
    expect(readdirSync(out)).toEqual([]);
  });
});

describe("the CLI", () => {
  const alone = new Map<string, { run: Run; out: string }>();
  let all: { run: Run; out: string };
  let goodAndBad: { run: Run; out: string };
  let existing: { run: Run; out: string; before: Buffer; mtimeMs: number };

  beforeAll(async () => {
    const tasks: (() => Promise<void>)[] = [];
    for (const name of CLI_ALONE) {
      const c = CASES.find((k) => k.name === name)!;
      tasks.push(async () => {
        const out = freshDir();
        alone.set(name, { run: await cli([rel(c), "--out", out]), out });
      });
    }
    tasks.push(async () => {
      const out = freshDir();
      all = { run: await cli([...CASES.map(rel), "--out", out]), out };
    });
    tasks.push(async () => {
      const out = freshDir();
      goodAndBad = { run: await cli([GOOD, `${BAD}/matmul-inner.model.ts`, "--out", out]), out };
    });
    tasks.push(async () => {
      // a generated file from an earlier run: a failed compile must leave it exactly as it was
      const out = freshDir();
      const file = path.join(out, "seed-net.ts");
      const before = Buffer.from("// Code generated by flatgrad from models/seed-net.model.ts. DO NOT EDIT.\n// an older version\nexport {};\n");
      writeFileSync(file, before);
      const past = new Date("2020-01-02T03:04:05Z");
      utimesSync(file, past, past);
      const mtimeMs = statSync(file).mtimeMs;
      existing = { run: await cli([GOOD, `${BAD}/optimizer-type.model.ts`, "--out", out]), out, before, mtimeMs };
    });
    await pool(tasks, 2);
  }, 300_000);

  it.each(CLI_ALONE)("%s alone: exit 1, its diagnostic on stderr, nothing written", (name) => {
    const c = CASES.find((k) => k.name === name)!;
    const { run, out } = alone.get(name)!;
    expect(run.code, run.stderr).toBe(1);
    const lines = linesFor(run.stderr, at(c));
    expect(lines, run.stderr).toHaveLength(1);
    expectDiagnostic(lines[0], c);
    expect(run.stderr).toContain("no file written");
    expect(readdirSync(out)).toEqual([]);
  });

  it("all fixtures in one run: exit 1, one diagnostic per fixture, nothing written", () => {
    const { run, out } = all;
    expect(run.code, run.stderr).toBe(1);
    for (const c of CASES) {
      const lines = linesFor(run.stderr, at(c));
      expect(lines, `${c.name}\n${run.stderr}`).toHaveLength(1);
      expectDiagnostic(lines[0], c);
    }
    expect(run.stderr).toContain(`flatgrad: ${CASES.length} errors, no file written`);
    expect(readdirSync(out)).toEqual([]);
  });

  it("a good model with a bad one writes nothing", () => {
    const { run, out } = goodAndBad;
    expect(run.code, run.stderr).toBe(1);
    expectDiagnostic(linesFor(run.stderr, `${BAD}/matmul-inner.model.ts`)[0], CASES.find((k) => k.name === "matmul-inner")!);
    expect(linesFor(run.stderr, GOOD)).toEqual([]);
    expect(readdirSync(out)).toEqual([]);
  });

  it("a failed compile leaves an existing generated file byte-identical, with its mtime", () => {
    const { run, out, before, mtimeMs } = existing;
    expect(run.code, run.stderr).toBe(1);
    expectDiagnostic(linesFor(run.stderr, `${BAD}/optimizer-type.model.ts`)[0], CASES.find((k) => k.name === "optimizer-type")!);
    expect(readdirSync(out)).toEqual(["seed-net.ts"]);
    const file = path.join(out, "seed-net.ts");
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(statSync(file).mtimeMs).toBe(mtimeMs);
  });

  it("leaves no temporary files next to the model files", () => {
    expect(readdirSync(path.join(ROOT, BAD)).filter((f) => !f.endsWith(".model.ts"))).toEqual(["lib"]);
    expect(readdirSync(path.join(ROOT, BAD, "lib")).filter((f) => !f.endsWith(".ts"))).toEqual([]);
    expect(existsSync(path.join(ROOT, BAD, "generated"))).toBe(false);
  });
});
