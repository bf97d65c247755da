#!/usr/bin/env node
// A benchmark child: node bench/run-one.mjs <contender> <workload>. Started by bench/main.ts with an IPC
// channel; it loads the TypeScript harness with jiti and then waits for the parent's requests.
import { createJiti } from "jiti";

const [contender, workload] = process.argv.slice(2);
if (!contender || !workload || !process.send) {
  console.error("usage: node bench/run-one.mjs <contender> <workload>  (started by `npm run bench`, with IPC)");
  process.exit(2);
}
const jiti = createJiti(import.meta.url);
const { runChild } = await jiti.import("./child.ts");
await runChild(contender, workload);
