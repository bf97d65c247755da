#!/usr/bin/env node
// flatgrad's command line. The compiler is TypeScript; jiti loads it (and the model files) directly.
import { createJiti } from "jiti";

const jiti = createJiti(import.meta.url);
const { main } = await jiti.import("./main.ts");
process.exitCode = await main(process.argv.slice(2));
