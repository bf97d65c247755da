import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The file "flatgrad" means in a model file or flatgrad.config.ts as the compiler loads them:
 * src/api.ts from the repository, dist/api.js in the installed package (the model API alone).
 */
export const MODEL_API = fileURLToPath(new URL(`../api${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url));
