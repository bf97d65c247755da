import { fileURLToPath } from "node:url";
import path from "node:path";
import type { Site } from "../ir/shape.js";

/** flatgrad's own source folder: frames inside it are not the user's call site. */
const OWN_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..") + path.sep;

const FRAME = /\(?((?:file:\/\/)?[^\s()]+?):(\d+):(\d+)\)?$/;

/** The first stack frame outside flatgrad itself: the model file line that called the builder. */
export function callSite(): Site | undefined {
  return userSite(new Error().stack?.split("\n").slice(1).join("\n"));
}

/**
 * The first frame of a V8 stack that is the user's code: not flatgrad's own source, not a
 * dependency in node_modules, not Node's internals. For an error thrown by a model file (or a
 * module it imports), the line that threw.
 */
export function userSite(stack: string | undefined): Site | undefined {
  for (const raw of stack?.split("\n") ?? []) {
    const line = raw.trim();
    if (!line.startsWith("at ")) continue;
    const m = FRAME.exec(line);
    if (!m) continue;
    let file = m[1]!;
    if (file.startsWith("file://")) file = fileURLToPath(file);
    if (!path.isAbsolute(file) || file.startsWith(OWN_DIR) || file.includes(`${path.sep}node_modules${path.sep}`)) continue;
    return { file, line: Number(m[2]), col: Number(m[3]) };
  }
  return undefined;
}
