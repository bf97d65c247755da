/** Where things are: the project root, globs, and the folder a user typed a command in. Light: the CLI's usage paths load only this. */
import { existsSync } from "node:fs";
import path from "node:path";

/** The project root: the nearest folder, from `from` up, with a package.json. */
export function findRoot(from = process.cwd()): string {
  let dir = path.resolve(from);
  for (;;) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(from);
    dir = up;
  }
}

/** Whether a model argument is a glob rather than a file name. */
export const isGlob = (p: string) => /[*?[\]{}!]/.test(p);

/**
 * The folder the user typed the command in. `npm run` (and npx) start scripts in the package root
 * and keep the user's folder in INIT_CWD; it counts only when it is inside the same project (an
 * INIT_CWD inherited from an unrelated npm process is ignored).
 */
export function userCwd(env: Record<string, string | undefined>, cwd = process.cwd()): string {
  const init = env.INIT_CWD;
  if (init && path.isAbsolute(init) && existsSync(init) && findRoot(init) === findRoot(cwd)) return path.resolve(init);
  return cwd;
}
