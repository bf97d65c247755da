/** Type-check generated modules as a user's project would: an ESM folder under every strict flag (test/cli/userProject.ts). */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { STRICT } from "../cli/userProject.js";
import { ROOT } from "./helpers.js";

const TSC = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");

/** tsc over a folder; its output ("" when clean). */
export function typecheck(dir: string, include: string[], lib = ["ES2022"]): string {
  // an ESM project (with verbatimModuleSyntax, a CommonJS one cannot use export at all)
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "user-project", type: "module" }));
  writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { ...STRICT, lib }, include }));
  const r = spawnSync(process.execPath, [TSC, "-p", dir], { encoding: "utf8" });
  return r.stdout + r.stderr;
}
