/** The IR printer (src/ir/print.ts): the text form every stage test compares. */
import { describe, expect, it } from "vitest";
import type { Node } from "../../src/ir/graph.js";
import { printGraph, printNodes } from "../../src/ir/print.js";
import { runPipeline } from "../../src/passes/pipeline.js";
import { graphOf } from "../support/graphs.js";

const net = () =>
  graphOf((g) => {
    const x = g.input("x", [4, 3]);
    const y = g.input("y", [4, 2]);
    const p = g.sigmoid(g.linear(x, g.param("W", [2, 3]), g.param("b", [2])));
    g.output("p", p);
    return g.mean(g.square(g.sub(p, y)));
  });

describe("printGraph", () => {
  it("prints a model as built: sources first, one line per node, then its outputs and loss", () => {
    expect(printGraph(net())).toMatchInlineSnapshot(`
      "%0 = input "x" : [4, 3] float64
      %1 = input "y" : [4, 2] float64
      %2 = param "W" : [2, 3] float64
      %3 = param "b" : [2] float64
      %4 = transpose(%2) {perm: [1, 0]} : [3, 2] float64
      %5 = matmul(%0, %4) : [4, 2] float64
      %6 = add(%5, %3) : [4, 2] float64
      %7 = sigmoid(%6) : [4, 2] float64
      %8 = sub(%7, %1) : [4, 2] float64
      %9 = square(%8) : [4, 2] float64
      %10 = sum(%9) {axes: [0, 1], keepDims: false} : [] float64
      %11 = constant 0.125 : [] float64
      %12 = mul(%10, %11) : [] float64
      outputs: p = %7
      loss = %12"
    `);
  });

  it("prints the gradients after the pipeline", () => {
    expect(printGraph(runPipeline(net()))).toMatchInlineSnapshot(`
      "%0 = input "x" : [4, 3] float64
      %1 = input "y" : [4, 2] float64
      %2 = param "W" : [2, 3] float64
      %3 = param "b" : [2] float64
      %4 = transpose(%2) {perm: [1, 0]} : [3, 2] float64
      %5 = matmul(%0, %4) : [4, 2] float64
      %6 = add(%5, %3) : [4, 2] float64
      %7 = sigmoid(%6) : [4, 2] float64
      %8 = sub(%7, %1) : [4, 2] float64
      %9 = square(%8) : [4, 2] float64
      %10 = sum(%9) {axes: [0, 1], keepDims: false} : [] float64
      %11 = constant 0.125 : [] float64
      %12 = mul(%10, %11) : [] float64
      %13 = constant 0.125 : [1, 1] float64
      %14 = constant 2 : [] float64
      %15 = mul(%8, %14) : [4, 2] float64
      %16 = mul(%13, %15) : [4, 2] float64
      %17 = constant 1 : [] float64
      %18 = sub(%17, %7) : [4, 2] float64
      %19 = mul(%7, %18) : [4, 2] float64
      %20 = mul(%16, %19) : [4, 2] float64
      %21 = transpose(%20) {perm: [1, 0]} : [2, 4] float64
      %22 = matmul(%21, %0) : [2, 3] float64
      %23 = sum(%20) {axes: [0], keepDims: false} : [2] float64
      outputs: p = %7
      loss = %12
      grads: W = %22, b = %23"
    `);
  });

  it("numbers nodes by position, not by id: unrelated nodes made first change nothing", () => {
    const other = graphOf((g) => {
      g.exp(g.constant([1, 2, 3]));
      g.tanh(g.input("unused", [7]));
      const x = g.input("x", [4, 3]);
      const y = g.input("y", [4, 2]);
      const p = g.sigmoid(g.linear(x, g.param("W", [2, 3]), g.param("b", [2])));
      g.output("p", p);
      return g.mean(g.square(g.sub(p, y)));
    });
    // the unused input is declared, so it is printed; the rest is the same text renumbered by one
    const text = printGraph(other);
    expect(text.split("\n")[0]).toBe('%0 = input "unused" : [7] float64');
    const renumber = (s: string) => s.replace(/%(\d+)/g, (_, d: string) => `%${Number(d) + 1}`);
    expect(text.split("\n").slice(1).join("\n")).toBe(renumber(printGraph(net())));
  });

  it("prints attributes in a fixed order whatever order they were given in", () => {
    let a: Node | undefined;
    let b: Node | undefined;
    graphOf((g) => {
      const x = g.input("x", [2, 3]);
      a = g.apply("sum", [x], { axes: [1], keepDims: true });
      b = g.apply("sum", [x], { keepDims: true, axes: [1] });
      g.output("s", a);
    });
    expect(a).not.toBe(b);
    expect(printNodes([b!])).toBe(printNodes([a!]));
    expect(printNodes([a!])).toMatchInlineSnapshot(`
      "%0 = input "x" : [2, 3] float64
      %1 = sum(%0) {axes: [1], keepDims: true} : [2, 1] float64
      roots: %1"
    `);
  });
});

describe("printNodes", () => {
  it("prints the cone of a list of roots, then the roots", () => {
    const g = net();
    expect(printNodes([g.loss!, g.outputs.get("p")!])).toMatchInlineSnapshot(`
      "%0 = input "x" : [4, 3] float64
      %1 = param "W" : [2, 3] float64
      %2 = transpose(%1) {perm: [1, 0]} : [3, 2] float64
      %3 = matmul(%0, %2) : [4, 2] float64
      %4 = param "b" : [2] float64
      %5 = add(%3, %4) : [4, 2] float64
      %6 = sigmoid(%5) : [4, 2] float64
      %7 = input "y" : [4, 2] float64
      %8 = sub(%6, %7) : [4, 2] float64
      %9 = square(%8) : [4, 2] float64
      %10 = sum(%9) {axes: [0, 1], keepDims: false} : [] float64
      %11 = constant 0.125 : [] float64
      %12 = mul(%10, %11) : [] float64
      roots: %12, %6"
    `);
  });

  it("prints constants by value, -0 included", () => {
    let roots: Node[] = [];
    graphOf((g) => {
      roots = [g.constant([1.5, -0, 3e-20], [3]), g.constant(-0), g.constant(7, [2, 2])];
      g.output("c", roots[0]!);
    });
    expect(printNodes(roots)).toMatchInlineSnapshot(`
      "%0 = constant [1.5, -0, 3e-20] : [3] float64
      %1 = constant -0 : [] float64
      %2 = constant 7 : [2, 2] float64
      roots: %0, %1, %2"
    `);
  });

  it("prints a node's dtype after its shape when it has one", () => {
    let x: Node | undefined;
    let s: Node | undefined;
    graphOf((g) => {
      x = g.input("x", [4, 3]);
      s = g.output("s", g.sigmoid(x));
    });
    // nodes carry no dtype on this branch yet: give them one by hand
    const typedX = { ...x!, dtype: "int32" } as Node;
    const typed = { ...s!, inputs: [typedX], dtype: "float32" } as Node;
    expect(printNodes([typed])).toMatchInlineSnapshot(`
      "%0 = input "x" : [4, 3] int32
      %1 = sigmoid(%0) : [4, 3] float32
      roots: %1"
    `);
  });
});
