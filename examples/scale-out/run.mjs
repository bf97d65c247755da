// `npm run scale-out`: the scale-out example is TypeScript; jiti (already flatgrad's dependency) runs it.
import { createJiti } from "jiti";

const jiti = createJiti(import.meta.url);
const { main } = await jiti.import("./run.ts");
process.exitCode = await main();
