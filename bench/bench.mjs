#!/usr/bin/env node
// `npm run bench`: compiles bench/models/*.model.ts into bench/.work/, checks every contender against
// flatgrad's lossAndGrad, times them in alternating rounds (one child process per contender and
// workload), and writes bench/results.md. Options: see bench/main.ts (--help).
import { createJiti } from "jiti";

const jiti = createJiti(import.meta.url);
const { main } = await jiti.import("./main.ts");
process.exitCode = await main(process.argv.slice(2));
