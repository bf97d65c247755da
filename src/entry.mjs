// The package entry for plain Node: flatgrad is written in TypeScript, and jiti loads it.
// TypeScript resolves the "types" condition to src/index.ts instead.
import { createJiti } from "jiti";

const jiti = createJiti(import.meta.url);
const api = await jiti.import("./index.ts");

export const { defineModel, compile, compileModelFile } = api;
