/**
 * A stable text form of a graph, for tests of a stage and for reading a graph by eye:
 *
 *   %0 = input "x" : [32, 30]
 *   %1 = param "W1" : [16, 30]
 *   %2 = transpose(%1) {perm: [1, 0]} : [30, 16]
 *   %3 = matmul(%0, %2) : [32, 16]
 *   outputs: yhat = %7
 *   loss = %9
 *   grads: W1 = %20, b1 = %21
 *
 * One line per node in topological order (declared inputs and params first, in declaration
 * order), numbered from 0 in that order: the numbers do not depend on node ids, so two graphs
 * that mean the same print the same. Attributes are printed with their keys sorted; a `shape`
 * attribute equal to the node's shape is left out (it is printed after the colon). A node with
 * a dtype prints it after its shape: `: [32, 16] float32`.
 */
import { topo, type Graph, type Node } from "./graph.js";
import type { Shape } from "./shape.js";

const num = (v: number): string => (Object.is(v, -0) ? "-0" : String(v));

/** An attribute value: numbers, strings, booleans, arrays and plain objects, deterministically. */
function value(v: unknown): string {
  if (typeof v === "number") return num(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(value).join(", ")}]`;
  if (typeof v === "object" && v !== null)
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${k}: ${value((v as Record<string, unknown>)[k])}`)
      .join(", ")}}`;
  return String(v);
}

const shapeText = (s: Shape): string => `[${s.join(", ")}]`;
const sameShape = (a: unknown, s: Shape): boolean => Array.isArray(a) && a.length === s.length && a.every((d, i) => d === s[i]);

/** The type after the colon: the shape, then the dtype. */
function typeText(n: Node): string {
  return `${shapeText(n.shape)} ${n.dtype}`;
}

/** The right-hand side of a node's line, given the numbers of the nodes before it. */
function line(n: Node, ids: ReadonlyMap<Node, number>): string {
  const attrs: Record<string, unknown> = { ...n.attrs };
  if (sameShape(attrs.shape, n.shape)) delete attrs.shape;
  let head: string;
  if (n.op === "constant" && Array.isArray(attrs.values)) {
    const vs = attrs.values as number[];
    head = `constant ${vs.length === 1 ? num(vs[0]!) : value(vs)}`;
    delete attrs.values;
  } else if (n.inputs.length === 0 && typeof attrs.name === "string") {
    head = `${n.op} ${JSON.stringify(attrs.name)}`;
    delete attrs.name;
  } else {
    head = `${n.op}(${n.inputs.map((c) => `%${ids.get(c)}`).join(", ")})`;
  }
  const keys = Object.keys(attrs).sort();
  const rest = keys.length ? ` {${keys.map((k) => `${k}: ${value(attrs[k])}`).join(", ")}}` : "";
  return `${head}${rest} : ${typeText(n)}`;
}

/** Number the nodes (`first` in its order, then the rest of `roots`' cone topologically) and print one line each. */
function body(first: readonly Node[], roots: readonly Node[]): { lines: string[]; ids: Map<Node, number> } {
  const ids = new Map<Node, number>();
  const lines: string[] = [];
  for (const n of [...first, ...topo([...first, ...roots])]) {
    if (ids.has(n)) continue;
    ids.set(n, ids.size);
    lines.push(`%${ids.get(n)} = ${line(n, ids)}`);
  }
  return { lines, ids };
}

const named = (m: ReadonlyMap<string, Node>, ids: ReadonlyMap<Node, number>): string =>
  [...m].map(([k, n]) => `${k} = %${ids.get(n)}`).join(", ");

/** A whole graph: its nodes, then its roots (outputs, loss, gradients), each section only when present. */
export function printGraph(g: Graph): string {
  const roots = [...g.outputs.values(), ...(g.loss ? [g.loss] : []), ...g.grads.values()];
  const { lines, ids } = body([...g.inputs.values(), ...g.params.values()], roots);
  if (g.outputs.size) lines.push(`outputs: ${named(g.outputs, ids)}`);
  if (g.loss) lines.push(`loss = %${ids.get(g.loss)}`);
  if (g.grads.size) lines.push(`grads: ${named(g.grads, ids)}`);
  return lines.join("\n");
}

/** The nodes that `roots` reach, then the roots by number: `roots: %3, %7`. */
export function printNodes(roots: readonly Node[]): string {
  const { lines, ids } = body([], roots);
  lines.push(`roots: ${roots.map((r) => `%${ids.get(r)}`).join(", ")}`);
  return lines.join("\n");
}
