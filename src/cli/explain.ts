/** `flatgrad explain <model file> [--format text|dot|mermaid]`: to stdout. */
import path from "node:path";
import { parseArgs } from "node:util";
import { findRoot, formatDiagnostic, toDiagnostic } from "../compile.js";
import { explain, type ExplainFormat } from "../explain/explain.js";
import type { Io } from "./main.js";

export async function explainCommand(args: string[], io: Io, cwd = process.cwd()): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { format: { type: "string", short: "f" } } });
  const format = (values.format ?? "text") as ExplainFormat;
  if (!["text", "dot", "mermaid"].includes(format)) {
    io.err(`flatgrad: unknown format "${format}" (text, dot or mermaid)\n`);
    return 2;
  }
  if (positionals.length !== 1) {
    io.err(`flatgrad: explain takes one model file\n`);
    return 2;
  }
  const file = path.resolve(cwd, positionals[0]!);
  const root = findRoot(cwd);
  try {
    io.out(await explain(file, root, format));
    return 0;
  } catch (e) {
    const d = toDiagnostic(e, file, root);
    io.err(formatDiagnostic(d) + "\n");
    return d.code === "FG900" ? 2 : 1;
  }
}
