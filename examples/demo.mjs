// `npm run demo [-- <example>]`: the demo is TypeScript; jiti (already flatgrad's dependency) runs it.
import { createJiti } from "jiti";

const jiti = createJiti(import.meta.url);
const { main } = await jiti.import("./demo.ts");
process.exitCode = await main(process.argv.slice(2));
