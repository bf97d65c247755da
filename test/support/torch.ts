/**
 * PyTorch for the tests that compare with it: a python3 that imports torch (Debian's python3-torch),
 * installed with apt-get when the machine has none, so these tests run everywhere and are never skipped.
 */
import { execFileSync, spawnSync } from "node:child_process";

const CANDIDATES = ["/usr/bin/python3", "python3", "python"];
let found: string | undefined;

const hasTorch = (py: string) => spawnSync(py, ["-c", "import torch"], { stdio: "ignore" }).status === 0;

/** The path of a python3 with torch; installs Debian's python3-torch first when none has it (about 80 s here). */
export function torchPython(): string {
  if (found) return found;
  found = CANDIDATES.find(hasTorch);
  if (found) return found;
  const root = process.getuid?.() === 0;
  const apt = (args: string[]) => execFileSync(root ? "apt-get" : "sudo", root ? args : ["apt-get", ...args], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  apt(["update", "-qq"]);
  apt(["install", "-y", "-qq", "python3-torch"]);
  found = CANDIDATES.find(hasTorch);
  if (!found) throw new Error("python3-torch was installed but no python3 imports torch");
  return found;
}

/** Run a Python script with JSON in (a file) and JSON out (stdout; Python's NaN and Infinity become null, which no check accepts). */
export function runPython(script: string, args: string[]): unknown {
  const out = execFileSync(torchPython(), [script, ...args], { encoding: "utf8", maxBuffer: 1 << 28, stdio: ["ignore", "pipe", "inherit"] });
  return JSON.parse(out.replace(/-?\bInfinity\b|\bNaN\b/g, "null"));
}
