import { FlatgradError } from "./shape.js";

/** JavaScript's reserved words (and the globals generated code must not shadow). */
const JS_WORDS =
  "break case catch class const continue debugger default delete do else enum export extends false finally for function if import in " +
  "instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface " +
  "package private protected public await async arguments eval undefined NaN Infinity";
/** Keys every JavaScript object already has: as names they would collide with Object's own members. */
const OBJECT_KEYS = "constructor prototype __proto__ toString valueOf hasOwnProperty isPrototypeOf propertyIsEnumerable toLocaleString";

/** Words that may not name an input, param, buffer or output: JavaScript's reserved words and Object's own keys. */
export const RESERVED = new Set(`${JS_WORDS} ${OBJECT_KEYS}`.split(" "));
const OBJECT_KEY_SET = new Set(OBJECT_KEYS.split(" "));
export const MAX_NAME_LENGTH = 64;
const IDENT = "[A-Za-z_][A-Za-z0-9_]*";
/** An identifier, or a dotted path of identifiers (`bn1.running_mean`, as a PyTorch state_dict key). */
export const NAME = new RegExp(`^${IDENT}(\\.${IDENT})*$`);

const RULE = `names are ASCII identifiers (a letter or _ then letters, digits or _) or dotted paths of them like bn1.running_mean, at most ${MAX_NAME_LENGTH} characters`;

/** A name quoted for a message: JSON escapes, plus the line separators JSON leaves raw. */
const quote = (s: string): string => JSON.stringify(s).replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
const show = (name: string): string => quote(name.length > 40 ? name.slice(0, 40) + "…" : name);

/** Why `name` is not a valid name, or undefined when it is. */
export function nameProblem(name: unknown): string | undefined {
  if (typeof name !== "string") return `a name must be a string, got ${typeof name === "object" ? (name === null ? "null" : "an object") : `${typeof name} ${String(name)}`}`;
  if (name.length === 0) return `a name must not be empty (${RULE})`;
  if (name.length > MAX_NAME_LENGTH) return `it is ${name.length} characters long (${RULE})`;
  if (!NAME.test(name)) {
    if (/^[0-9]/.test(name)) return `a name must not start with a digit (${RULE})`;
    const bad = [...name].find((c) => !/[A-Za-z0-9_.]/.test(c));
    if (bad === undefined) {
      const parts = name.split(".");
      const empty = parts.findIndex((p) => p === "");
      if (empty >= 0) return `${empty === 0 ? "it starts with a dot" : empty === parts.length - 1 ? "it ends with a dot" : "it has two dots in a row"}: each part of a dotted name is an identifier (${RULE})`;
      return `the part ${quote(parts.find((p) => /^[0-9]/.test(p))!)} starts with a digit: each part of a dotted name is an identifier (${RULE})`;
    }
    const cp = bad.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
    return `the character ${quote(bad)} (U+${cp}) is not allowed (${RULE})`;
  }
  if (OBJECT_KEY_SET.has(name)) return `it is a property every JavaScript object has, so it cannot be a key in the generated code`;
  if (RESERVED.has(name)) return `it is a JavaScript reserved word`;
  return undefined;
}

/**
 * Names from model files become keys (and, sanitised, identifiers) in generated code, so only
 * plain ASCII identifiers and dotted paths of them pass.
 */
export function checkName(kind: string, name: unknown): string {
  const why = nameProblem(name);
  if (why !== undefined)
    throw new FlatgradError(`${kind}: invalid name${typeof name === "string" ? ` ${show(name)}` : ""}: ${why}`, undefined, "FG110");
  return name as string;
}
