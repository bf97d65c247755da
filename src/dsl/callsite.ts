import { fileURLToPath } from "node:url";
import path from "node:path";
import type { Site } from "../ir/shape.js";

/** flatgrad's own source folder: frames inside it are not the user's call site. */
const OWN_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..") + path.sep;

const FRAME = /\(?((?:file:\/\/)?[^\s()]+?):(\d+):(\d+)\)?$/;

/** The first stack frame outside flatgrad itself: the model file line that called the builder. */
export function callSite(): Site | undefined {
  const stack = new Error().stack?.split("\n").slice(1) ?? [];
  for (const line of stack) {
    const m = FRAME.exec(line.trim());
    if (!m) continue;
    let file = m[1]!;
    if (file.startsWith("file://")) file = fileURLToPath(file);
    if (!path.isAbsolute(file) || file.startsWith(OWN_DIR) || file.includes(`${path.sep}node_modules${path.sep}`)) continue;
    return { file, line: Number(m[2]), col: Number(m[3]) };
  }
  return undefined;
}
