#!/usr/bin/env node
// `node bench/moduleSizes.mjs [--out DIR]`: compiles every models/ and examples/models/ file (dry run,
// nothing written unless --out) and prints each module's size in bytes and its compile time.
import { createJiti } from "jiti";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const jiti = createJiti(import.meta.url);
const { compile } = await jiti.import("../src/compile.ts");
const outAt = process.argv.indexOf("--out");
const out = outAt > 0 ? process.argv[outAt + 1] : undefined;
if (out) mkdirSync(out, { recursive: true });
for (const models of ["models/*.model.ts", "examples/models/*.model.ts"]) {
  const r = await compile({ models: [models], root, mode: "dry-run", format: false });
  if (r.diagnostics.length) throw new Error(JSON.stringify(r.diagnostics));
  for (const f of r.files.filter((f) => f.model)) {
    console.log(`${f.model}\t${Buffer.byteLength(f.contents)} bytes`);
    if (out) writeFileSync(path.join(out, path.basename(f.path ?? f.model)), f.contents);
  }
}
