import { FlatgradError } from "./shape.js";

/** Words that may not name an input, param or output: JavaScript's reserved words and Object's own keys. */
export const RESERVED = new Set(
  ("break case catch class const continue debugger default delete do else enum export extends false finally for function if import in " +
    "instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface " +
    "package private protected public await async arguments eval undefined NaN Infinity constructor prototype __proto__ toString " +
    "valueOf hasOwnProperty isPrototypeOf propertyIsEnumerable toLocaleString").split(" "),
);
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Names from model files become identifiers and keys in generated code, so only plain ASCII identifiers pass. */
export function checkName(kind: string, name: unknown): string {
  if (typeof name !== "string" || !NAME.test(name) || RESERVED.has(name))
    throw new FlatgradError(
      `${kind}: invalid name ${typeof name === "string" ? JSON.stringify(name.length > 40 ? name.slice(0, 40) + "…" : name) : String(name)}: names are ASCII identifiers ([A-Za-z_][A-Za-z0-9_]*, at most 64 characters) and not JavaScript reserved words`,
      undefined,
      "FG110",
    );
  return name;
}
