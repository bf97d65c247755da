/**
 * Diagnostics in the user's words: a shape error names the operands by the model file's
 * variables and the lines that made them (for any op), and misspelt builder methods, optimizer
 * fields, optimizer types and init names get "did you mean", PyTorch's spellings included.
 */
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { compile } from "../../src/compile.js";
import { closest } from "../../src/front/suggest.js";
import { tempProject } from "../support/helpers.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Compile files in a fresh project; the one diagnostic as `file:line:col CODE: message`. */
async function error(files: Record<string, string>): Promise<string> {
  const dir = tempProject("flatgrad-diag-", files);
  dirs.push(dir);
  const res = await compile({ root: dir, mode: "dry-run", format: false });
  expect(res.diagnostics).toHaveLength(1);
  const d = res.diagnostics[0]!;
  return `${d.file}:${d.line}:${d.col} ${d.code}: ${d.message}`;
}

const model = (body: string, optimizer = `{ type: "adam", lr: 1e-3 }`) => ({
  "models/m.model.ts": `import { defineModel } from "flatgrad";

export default defineModel({
  optimizer: ${optimizer},
  build(g) {
    const x = g.input("x", [64, 16]);
    const y = g.input("y", [64, 31]);
    const W1 = g.param("W1", [32, 16]);
    const W2 = g.param("W2", [31, 33]);
${body
  .trim()
  .split("\n")
  .map((l) => `    ${l.trim()}`)
  .join("\n")}
  },
});
`,
});

describe("shape errors name the user's tensors", () => {
  it("linear: x is h1 (line 10), W is W2 (declared line 9)", async () => {
    expect(await error(model(`const h1 = g.tanh(g.linear(x, W1));\nconst out = g.linear(h1, W2);\nreturn g.mse(out, y);`))).toBe(
      "models/m.model.ts:11:19 FG144: linear: x is [64,32] but W is [31,33]: inner sizes 32 and 33 differ; here x is h1 [64,32] (line 10), W is W2 [31,33] (declared line 9)",
    );
  });

  it("any op: an elementwise op, a loss, a matmul; an unnamed operand is described by its call", async () => {
    expect(await error(model(`const h = g.linear(x, W1);\nconst s = g.add(h, y);\nreturn g.mean(s);`))).toMatch(
      /^models\/m\.model\.ts:11:\d+ FG140: add: a is \[64,32\] but b is \[64,31\]: .*; here a is h \[64,32\] \(line 10\), b is y \[64,31\] \(declared line 7\)$/,
    );
    expect(await error(model(`return g.mse(g.relu(g.linear(x, W1)), y);`))).toMatch(
      /FG147: mse: pred is \[64,32\] but target is \[64,31\]: .*; here pred is relu\(\.\.\.\) \[64,32\] \(line 10\), target is y \[64,31\] \(declared line 7\)$/,
    );
    expect(await error(model(`const z = g.matmul(x, W2);\nreturn g.mean(z);`))).toMatch(/FG141: matmul: a is \[64,16\] but b is \[31,33\]: .*; here a is x \[64,16\] \(declared line 6\), b is W2 \[31,33\] \(declared line 9\)$/);
  });

  it("a tensor made in a helper module is named with that file's line", async () => {
    const files = {
      ...model(`const h = hidden(g, x, W1);\nreturn g.mse(g.linear(h, W2), y);`),
      "models/layers.ts": `import type { Builder, Tensor } from "flatgrad";\nexport function hidden(g: Builder, x: Tensor, W: Tensor): Tensor {\n  const act = g.relu(g.linear(x, W));\n  return act;\n}\n`,
    };
    files["models/m.model.ts"] = files["models/m.model.ts"].replace('import { defineModel } from "flatgrad";', 'import { defineModel } from "flatgrad";\nimport { hidden } from "./layers.js";');
    expect(await error(files)).toMatch(/FG144: linear: x is \[64,32\] but W is \[31,33\]: .*; here x is act \[64,32\] \(layers\.ts:3\), W is W2 \[31,33\] \(declared line 10\)$/);
  });
});

describe("did you mean", () => {
  it("a misspelt builder method, at its line; PyTorch's names too", async () => {
    expect(await error(model(`const h1 = g.tahn(g.linear(x, W1));\nreturn g.mean(h1);`))).toBe("models/m.model.ts:10:18 FG108: g.tahn is not a builder method: did you mean g.tanh?");
    expect(await error(model(`return g.cross_entropy(g.linear(x, W1), y);`))).toBe(
      "models/m.model.ts:10:14 FG108: g.cross_entropy is not a builder method: did you mean g.softmaxCrossEntropy? (it takes one-hot rows or probabilities as targets, not class indices)",
    );
    expect(await error(model(`return g.mean(g.log_softmax(g.linear(x, W1)));`))).toMatch(/did you mean g\.logSoftmax\?$/);
    expect(await error(model(`return g.mean(g.Linear(x, W1));`))).toMatch(/did you mean g\.linear\?$/);
    // far from every name: JavaScript's own error, as before
    expect(await error(model(`return g.frobnicate(x);`))).toMatch(/FG108: build\(g\) threw: TypeError: g\.frobnicate is not a function$/);
  });

  it("optimizer fields: torch's betas, weight_decay, momentum on Adam; a slip; a field of another optimizer; a type", async () => {
    const body = `return g.mse(g.linear(g.linear(x, W1), g.param("V", [31, 32])), y);`;
    expect(await error(model(body, `{ type: "adam", betas: [0.9, 0.99] }`))).toMatch(/^models\/m\.model\.ts:4:\d+ FG131: .*: torch's betas=\(b1, b2\) is two fields here, beta1 and beta2 \(e\.g\. beta1: 0\.9, beta2: 0\.999\)$/);
    expect(await error(model(body, `{ type: "adamw", weight_decay: 0.1 }`))).toMatch(/FG131: optimizer: unknown field "weight_decay" for adamw .*: did you mean weightDecay\?$/);
    expect(await error(model(body, `{ type: "adam", momentum: 0.9 }`))).toMatch(/FG131: .*: adam has no momentum field: its beta1 \(default 0\.9\) is the momentum .*type: "sgd", momentum: 0\.9/);
    expect(await error(model(body, `{ type: "sgd", lr: 0.1, momentun: 0.9 }`))).toMatch(/did you mean momentum\?$/);
    expect(await error(model(body, `{ type: "sgd", lr: 0.1, beta1: 0.9 }`))).toMatch(/FG131: .*: beta1 belongs to adam and adamw$/);
    expect(await error(model(body, `{ type: "Adam" }`))).toMatch(/FG130: optimizer: unknown type "Adam" .*: did you mean "adam"\?$/);
  });

  it("init names, with other libraries' spellings", async () => {
    const withInit = (init: string) => model(`const V = g.param("V", [31, 32], { init: "${init}" });\nreturn g.mse(g.linear(g.linear(x, W1), V), y);`);
    expect(await error(withInit("kaiming_normal"))).toBe(
      'models/m.model.ts:10:17 FG164: param "V": unknown init "kaiming_normal" (known: zeros, ones, xavier, he, normal, uniform): did you mean "he"?',
    );
    expect(await error(withInit("glorot"))).toMatch(/did you mean "xavier"\?$/);
    expect(await error(withInit("zero"))).toMatch(/did you mean "zeros"\?$/);
    expect(await error(withInit("xavir"))).toMatch(/did you mean "xavier"\?$/);
  });

  it("closest: slips within a third of the word, case and snake_case ignored, nothing for far words", () => {
    expect(closest("tahn", ["tanh", "exp"])).toBe("tanh");
    expect(closest("SoftMax", ["softmax", "logSoftmax"])).toBe("softmax");
    expect(closest("leaky_relu", ["leakyRelu", "relu"])).toBe("leakyRelu");
    expect(closest("qq", ["tanh", "exp"])).toBeUndefined();
  });
});
