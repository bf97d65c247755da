import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // vitest's default is one worker fewer than the cores: on the 2-core CI machine that is one, and
    // the test files (compiling, type-checking, running generated code) then use half the machine
    maxWorkers: 2,
  },
});
