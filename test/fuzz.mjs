#!/usr/bin/env node
// npm run fuzz -- [--runs N] [--seed S] [--size K] [--grad]: the random-graph differential test, as long as you like
// (--grad: every graph with a g.grad inside its loss; by default one in four).
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { runs: { type: "string" }, seed: { type: "string" }, size: { type: "string" }, grad: { type: "boolean" } } });
const seed = values.seed ?? String(Date.now() % 1_000_000_000);
console.error(`flatgrad fuzz: FLATGRAD_SEED=${seed} FLATGRAD_RUNS=${values.runs ?? 1000}`);
const env = { ...process.env, FLATGRAD_SEED: seed, FLATGRAD_RUNS: values.runs ?? "1000", ...(values.size ? { FLATGRAD_SIZE: values.size } : {}), ...(values.grad ? { FLATGRAD_GRAD: "1" } : {}) };
const r = spawnSync("npx", ["vitest", "run", "test/e2e/random.test.ts"], { stdio: "inherit", env });
process.exitCode = r.status ?? 1;
