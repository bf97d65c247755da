/**
 * A stable text form of each lowering stage's data, for tests and for reading: what fused, which
 * buffers exist, the kernels of each entry point, and the memory plan. Nodes print as `%id op`.
 */
import { BYTES, type Node } from "../ir/graph.js";
import type { Lowered } from "./pipeline.js";

const ref = (n: Node) => `%${n.id} ${n.op}[${n.shape.join(",")}]`;

export function printFusion(l: Pick<Lowered, "fusion">): string {
  const f = l.fusion;
  const lines = [
    ...[...f.inlined].map((n) => `inline ${ref(n)} into ${ref(f.uses.get(n)![0]!)}`),
    ...[...f.epilogueOf].map(([tail, host]) => `epilogue ${ref(tail)} stored by ${ref(host)}`),
  ];
  return lines.join("\n") + "\n";
}

export function printBuffers(l: Pick<Lowered, "storage">): string {
  return l.storage.buffers.map((b) => `${b.role.padEnd(9)} ${b.name} ${b.dtype}×${b.size}${b.offset >= 0 ? ` @${b.offset}` : ""}`).join("\n") + "\n";
}

export function printSchedule(l: Pick<Lowered, "schedule">): string {
  const s = l.schedule;
  const entry = (title: string, ks: typeof s.forward) => [
    `${title}:`,
    ...ks.map((k) => `  ${k.backward ? "bwd" : "fwd"} ${k.out} = ${k.comment.slice(k.comment.lastIndexOf(" = ") + 3)}   reads ${[...k.reads].sort().join(" ")}${k.simd ? "   simd" : ""}`),
  ];
  return [...entry("forward", s.forward), ...entry("train", s.train)].join("\n") + "\n";
}

/** The arena: every placed buffer as [start, end) in bytes, by offset. */
export function printMemory(l: Pick<Lowered, "storage" | "arenaBytes">): string {
  const placed = l.storage.buffers.filter((b) => b.offset >= 0).sort((a, b) => a.offset - b.offset || a.name.localeCompare(b.name));
  return [...placed.map((b) => `[${b.offset}, ${b.offset + b.size * BYTES[b.dtype]}) ${b.name} (${b.role})`), `arena ${l.arenaBytes} bytes`].join("\n") + "\n";
}
