/** What a user's project looks like to the tests: the README's snippets and a strict tsconfig. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../support/helpers.js";

/** The README's snippets: each fenced block right after a `<!-- snippet: path -->` comment, by path. */
export function readmeSnippets(readme = readFileSync(path.join(ROOT, "README.md"), "utf8")): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of readme.matchAll(/<!-- snippet: (\S+) -->\n```\w*\n([\s\S]*?)\n```/g)) out.set(m[1]!, m[2]! + "\n");
  return out;
}

/** Every strict option a user may have on, with no Node types and no skipLibCheck. */
export const STRICT = {
  target: "ES2022",
  module: "NodeNext",
  moduleResolution: "NodeNext",
  strict: true,
  noUncheckedIndexedAccess: true,
  noPropertyAccessFromIndexSignature: true,
  exactOptionalPropertyTypes: true,
  verbatimModuleSyntax: true,
  isolatedModules: true,
  erasableSyntaxOnly: true,
  noImplicitOverride: true,
  noUnusedLocals: true,
  noUnusedParameters: true,
  noImplicitReturns: true,
  noFallthroughCasesInSwitch: true,
  skipLibCheck: false,
  noEmit: true,
  types: [],
};
