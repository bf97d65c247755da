/** The README and docs link only to files the repository (and the package) has. */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/helpers.js";

const docs = ["README.md", ...readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

describe("README and docs links", () => {
  for (const doc of docs)
    it(`${doc}: every relative link names a file inside the repository`, () => {
      const text = readFileSync(path.join(ROOT, doc), "utf8");
      const prose = text.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
      const links = [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((l) => !/^(https?:|#|mailto:)/.test(l));
      for (const l of links) {
        const target = path.resolve(ROOT, path.dirname(doc), l.split("#")[0]!);
        expect(target.startsWith(ROOT + path.sep), `${doc} links ${l}, outside the repository`).toBe(true);
        expect(existsSync(target), `${doc} links ${l}, which does not exist`).toBe(true);
      }
      if (doc === "README.md") expect(links).toContain("docs/api.md");
      // no path to a file a user does not have (the team's ../shared/ folder)
      expect(text).not.toMatch(/\.\.\/shared\//);
    });
});
