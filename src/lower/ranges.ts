/**
 * The range of each int32 input, from the ops that read it (crossEntropy's labels: [0, C) or the
 * ignore index; embedding's ids: [0, rows)): the generated entry points check it before any kernel
 * runs, so an out-of-range label throws, naming the input, and nothing changes.
 */
import { roots, topo, type Graph } from "../ir/graph.js";
import type { IndexRange } from "../ops/indices.js";
import { primitive } from "../ops/index.js";

/** Input name → the values every op reading it accepts (the intersection of their ranges). */
export function indexRanges(g: Graph): Map<string, IndexRange> {
  const out = new Map<string, IndexRange>();
  for (const n of topo(roots(g))) {
    if (primitive(n.op).lower.kind === "source") continue;
    const ranges = primitive(n.op).indexRange?.(n.inputs.map((i) => i.shape), n.attrs);
    n.inputs.forEach((x, k) => {
      const r = ranges?.[k];
      const def = primitive(x.op).lower;
      if (!r || def.kind !== "source" || def.source !== "input" || x.dtype !== "int32") return;
      const name = x.attrs.name as string;
      const prev = out.get(name);
      if (!prev) return out.set(name, { ...r });
      // an ignore index is allowed only where every reader ignores the same one
      const ignore = prev.ignore === r.ignore ? r.ignore : undefined;
      out.set(name, { low: Math.max(prev.low, r.low), high: Math.min(prev.high, r.high), ...(ignore !== undefined && { ignore }) });
    });
  }
  return out;
}

/** The checks an entry point runs first, one line per int32 input it reads that an op ranges (the template's checkIndices). */
export function rangeChecks(g: Graph, names: readonly string[], localOf: (name: string) => string): string[] {
  const ranges = indexRanges(g);
  return names.flatMap((n) => {
    const r = ranges.get(n);
    if (!r) return [];
    const shape = g.inputs.get(n)!.shape;
    return [`checkIndices(${JSON.stringify(n)}, ${localOf(n)}, [${shape.join(", ")}], ${r.low}, ${r.high}${r.ignore !== undefined ? `, ${r.ignore}` : ""});`];
  });
}
