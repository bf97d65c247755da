/** How the CLI prints diagnostics: tsc style with a code frame, or GitHub Actions annotations. */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Diagnostic, Warning } from "../compile.js";

export interface Style {
  color: boolean;
}

const paint = (on: boolean, code: string, s: string) => (on ? `\u001b[${code}m${s}\u001b[0m` : s);

/** `file:line:col - error FGnnn: message` (or `warning FGWnnn`), then the line with a caret under the column. */
export function formatPretty(d: Diagnostic | Warning, root: string, style: Style): string {
  const kind = "severity" in d ? paint(style.color, "33", "warning") : paint(style.color, "31", "error");
  const head = `${paint(style.color, "36", d.file)}:${paint(style.color, "33", String(d.line))}:${paint(style.color, "33", String(d.col))} - ${kind} ${paint(style.color, "90", d.code)}: ${d.message}`;
  let src: string | undefined;
  try {
    src = readFileSync(path.resolve(root, d.file), "utf8").split(/\r?\n/)[d.line - 1];
  } catch {
    src = undefined;
  }
  if (src === undefined || d.code === "FG900") return head;
  const gutter = String(d.line);
  const pad = " ".repeat(gutter.length);
  const caret = " ".repeat(Math.max(0, d.col - 1)) + "^";
  return `${head}\n\n${paint(style.color, "7", gutter)} ${src}\n${paint(style.color, "7", pad)} ${paint(style.color, "31", caret)}\n`;
}

const escData = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
const escProp = (s: string) => escData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");

/** A GitHub Actions workflow command: `::error file=…,line=…,col=…,title=FGnnn::message` (`::warning` for a lint). */
export const formatGithub = (d: Diagnostic | Warning): string => `::${"severity" in d ? "warning" : "error"} file=${escProp(d.file)},line=${d.line},col=${d.col},title=${d.code}::${escData(d.message)}`;
