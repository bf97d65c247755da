/** The command line: a thin wrapper over `compile()`. */
import { parseArgs } from "node:util";
import { compile, formatDiagnostic } from "../compile.js";

const USAGE = `usage: flatgrad compile <model files...> [--out <dir>]

  compile   compile model files (NAME.model.ts) to <dir>/NAME.ts (default dir: generated/)`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "--help" || command === "-h" || command === undefined) {
    process.stderr.write(USAGE + "\n");
    return command === undefined ? 2 : 0;
  }
  if (command !== "compile") {
    process.stderr.write(`flatgrad: unknown command "${command}"\n${USAGE}\n`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, allowPositionals: true, options: { out: { type: "string", short: "o" }, "out-dir": { type: "string" } } });
  } catch (e) {
    process.stderr.write(`flatgrad: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (!parsed.positionals.length) {
    process.stderr.write(`flatgrad: no model files given\n${USAGE}\n`);
    return 2;
  }
  const t0 = performance.now();
  const res = await compile({ models: parsed.positionals, outDir: parsed.values.out ?? parsed.values["out-dir"] ?? "generated" });
  for (const d of res.diagnostics) process.stderr.write(formatDiagnostic(d) + "\n");
  if (res.diagnostics.length) {
    process.stderr.write(`flatgrad: ${res.diagnostics.length} error${res.diagnostics.length > 1 ? "s" : ""}; no file written\n`);
    return 1;
  }
  const written = res.files.filter((f) => f.status === "written").length;
  process.stderr.write(`flatgrad: ${res.files.length} model${res.files.length === 1 ? "" : "s"}, ${written} written, ${res.files.length - written} unchanged (${((performance.now() - t0) / 1000).toFixed(2)} s)\n`);
  return 0;
}
