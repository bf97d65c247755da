#!/usr/bin/env node
// flatgrad's command line. In the repository the compiler runs from its TypeScript sources, which
// jiti loads directly (no build step, never a stale build); the installed package has no sources
// and runs the build in dist/ (`npm run build`, made by `prepare` on `npm ci` and `npm pack`).
import { existsSync } from "node:fs";

const source = new URL("./main.ts", import.meta.url);
let main;
if (existsSync(source)) {
  const { createJiti } = await import("jiti");
  // The compiler's own imports are `./x.js` naming `x.ts`: trying .ts first (and few extensions at all) spares
  // jiti thousands of failed lookups, about 0.7 s of every start.
  const jiti = createJiti(import.meta.url, { extensions: [".ts", ".js"] });
  ({ main } = await jiti.import(source.href));
} else {
  ({ main } = await import("../../dist/cli/main.js"));
}
process.exitCode = await main(process.argv.slice(2));
