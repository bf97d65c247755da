// `npm run demo [-- <example>]`: the demo is TypeScript; jiti (already flatgrad's dependency) runs it.
import { createJiti } from "jiti";
import { setFlagsFromString } from "node:v8";

// The unrolled sequence models compile to lossAndGrad functions of a few hundred KB of bytecode,
// above V8's size limit for optimizing a function (60 KB by default): without this they run in
// the interpreter, about 10× slower. (Sharing one kernel function per unrolled step is issue 13's fix.)
setFlagsFromString("--max-optimized-bytecode-size=16777216");

const jiti = createJiti(import.meta.url);
const { main } = await jiti.import("./demo.ts");
process.exitCode = await main(process.argv.slice(2));
