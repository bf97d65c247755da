#!/usr/bin/env node
// flatgrad's command line. The compiler is TypeScript; jiti loads it (and the model files) directly.
import { createJiti } from "jiti";

// The compiler's own imports are `./x.js` naming `x.ts`: trying .ts first (and few extensions at all) spares
// jiti thousands of failed lookups, about 0.7 s of every start.
const jiti = createJiti(import.meta.url, { extensions: [".ts", ".js"] });
const { main } = await jiti.import("./main.ts");
process.exitCode = await main(process.argv.slice(2));
