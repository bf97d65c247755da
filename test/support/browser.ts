/**
 * Debian's Chromium, driven by playwright-core (which downloads no browser of its own). When
 * /usr/bin/chromium is missing, it is installed with apt-get (as root: CI and the developers'
 * machines; .ci/run installs it first, so this is the fallback for a bare `npm test`).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/** Install Chromium when it is missing (76 s with apt-get here, together with python3-torch); throws, with apt's words, if that fails. */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const t0 = performance.now();
  const apt = (args: string[]) => execFileSync("apt-get", args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  apt(["update"]);
  apt(["install", "-y", "chromium"]);
  console.log(`installed chromium with apt-get in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

/**
 * Headless Chromium with the flags this machine needs: no sandbox (root), and no background
 * networking, sync or component updates (the machine has no network but the package registries,
 * and Chromium's attempts would fail loudly).
 */
export async function launchChromium(): Promise<Browser> {
  ensureChromium();
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}
