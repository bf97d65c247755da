/**
 * Where the memory plan gives two temporaries the same bytes, the module says so where it
 * declares the later one: every overlapping pair is named (a long list ends "and N more"), and
 * no comment names a pair whose byte ranges do not overlap. The ranges are read from the
 * module's own text, in bytes, whatever the views' dtypes.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compileDefinition } from "../../src/compile.js";
import { listNames } from "../../src/emit/emit.js";
import { defineModel } from "../../src/index.js";
import { sharedMemory } from "../../src/lower/memory.js";
import type { Buffer } from "../../src/lower/program.js";
import { ROOT } from "../support/helpers.js";

const BYTES: Record<string, number> = { Float32Array: 4, Float64Array: 8, Int32Array: 4 };
const COMMENT = / \/\/ shares memory with (.+)$/;

interface Decl {
  name: string;
  start: number;
  end: number;
  comment: string | undefined;
}

/** The temporaries as the module declares them, with their byte ranges and sharing comments. */
function temporaries(text: string): Decl[] {
  const lines = text.split("\n");
  const bytesOf = new Map<string, number>();
  for (const l of lines) {
    const m = /^\s*const (\w+) = new (\w+Array)\(memory, 0, \d+\);$/.exec(l);
    if (m) bytesOf.set(m[1]!, BYTES[m[2]!]!);
  }
  expect(bytesOf.size).toBeGreaterThan(0);
  const first = lines.findIndex((l) => l.trim() === "// activations and intermediate gradients");
  expect(first).toBeGreaterThan(0);
  const decls: Decl[] = [];
  for (const l of lines.slice(first + 1)) {
    const m = /^\s*const (\w+) = (\w+)\.subarray\((\d+), (\d+)\);(.*)$/.exec(l);
    if (!m) break;
    const size = bytesOf.get(m[2]!)!;
    expect(size, `${m[2]} is a view of the arena`).toBeDefined();
    const rest = m[5]!;
    const c = COMMENT.exec(rest);
    expect(rest === "" || c !== null, `an unexpected trailing text: ${rest}`).toBe(true);
    decls.push({ name: m[1]!, start: Number(m[3]) * size, end: Number(m[4]) * size, comment: c?.[1] });
  }
  return decls;
}

/** Check every declaration's comment against the byte ranges; returns how many comments there are. */
function checkSharing(text: string): number {
  const decls = temporaries(text);
  let comments = 0;
  decls.forEach((d, i) => {
    const overlapping = decls.slice(0, i).filter((e) => e.start < d.end && d.start < e.end).map((e) => e.name);
    if (!overlapping.length) return expect(d.comment, `${d.name} overlaps no earlier temporary`).toBeUndefined();
    comments++;
    expect(d.comment, `${d.name} overlaps ${overlapping.join(", ")}`).toBeDefined();
    const m = /^(.*?)(?: and (\d+) more)?$/.exec(d.comment!)!;
    const named = m[2] ? m[1]!.split(", ") : m[1]!.split(/, | and /);
    const more = Number(m[2] ?? 0);
    // the first overlapping ones in declaration order, then the count of the rest: every pair accounted for
    expect(named, d.name).toEqual(overlapping.slice(0, named.length));
    expect(named.length + more, d.name).toBe(overlapping.length);
    expect(named.length).toBeLessThanOrEqual(3);
  });
  return comments;
}

describe("temporaries that share arena memory", () => {
  it("lists at most three names, then a count", () => {
    expect(listNames(["a"])).toBe("a");
    expect(listNames(["a", "b"])).toBe("a and b");
    expect(listNames(["a", "b", "c"])).toBe("a, b and c");
    expect(listNames(["a", "b", "c", "d", "e"])).toBe("a, b, c and 2 more");
  });

  it("the committed modules name every overlapping pair, and only those", () => {
    let comments = 0;
    for (const f of ["seed-net.ts", "digits-mlp.ts"]) comments += checkSharing(readFileSync(path.join(ROOT, "generated", f), "utf8"));
    expect(comments, "the example models share memory").toBeGreaterThan(1);
  });

  it("a small model, in both float dtypes", async () => {
    for (const dtype of ["float32", "float64"] as const) {
      const def = defineModel({
        dtype,
        build(g) {
          const x = g.input("x", [6, 5]);
          const y = g.input("y", [6, 3]);
          const h1 = g.tanh(g.linear(x, g.param("W1", [8, 5]), g.param("b1", [8])));
          const h2 = g.relu(g.linear(h1, g.param("W2", [8, 8])));
          const logits = g.linear(g.add(h2, h1), g.param("W3", [3, 8]));
          g.output("p", g.softmax(logits));
          return g.softmaxCrossEntropy(logits, y);
        },
      });
      const { text } = await compileDefinition(def, `sharing-${dtype}`);
      expect(checkSharing(text), dtype).toBeGreaterThan(0);
    }
  });

  it("overlap is taken in bytes, across dtypes, and only between temporaries", () => {
    const buf = (name: string, offset: number, size: number, dtype: Buffer["dtype"], role: Buffer["role"] = "temp"): Buffer => ({ name, offset, size, dtype, role });
    const shared = sharedMemory([
      buf("W", 0, 8, "float32", "param"), // bytes 0–32: not a temporary
      buf("a", 32, 4, "float64"), // bytes 32–64
      buf("b", 64, 4, "int32"), // bytes 64–80: touches a, does not overlap it
      buf("c", 48, 4, "float32"), // bytes 48–64: inside a (its element offset, 12, is not a's 4)
      buf("d", 16, 8, "float64"), // bytes 16–80: W is not named; a, b and c are
      buf("unused", -1, 4, "float32"), // never placed
      buf("e", 80, 1, "float32"),
    ]);
    expect([...shared]).toEqual([
      ["c", ["a"]],
      ["d", ["a", "b", "c"]],
    ]);
  });
});
