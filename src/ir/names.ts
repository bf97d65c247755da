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
/** A segment of a dotted path: an identifier, or a non-negative integer written as nn.Sequential writes it (`0`, `12`, no leading zeros). */
const SEGMENT = `(?:${IDENT}|0|[1-9][0-9]*)`;
/**
 * An identifier, or a dotted path of segments (`bn1.running_mean`, `features.0.weight`): a PyTorch
 * state_dict key. Decision: a numeric segment is accepted anywhere in a dotted path (nn.Sequential's
 * `0.weight` included), but a name without a dot is an identifier.
 */
export const NAME = new RegExp(`^(?:${IDENT}|${SEGMENT}(?:\\.${SEGMENT})+)$`);

const RULE = `names are ASCII identifiers (a letter or _ then letters, digits or _) or dotted paths like bn1.running_mean or features.0.weight, at most ${MAX_NAME_LENGTH} characters`;
const DOTTED_RULE = `each part of a dotted name is an identifier or a non-negative integer like 0 or 12, as in a PyTorch state_dict key (features.0.weight), at most ${MAX_NAME_LENGTH} characters`;

/** A name quoted for a message: JSON escapes, plus the line separators JSON leaves raw. */
const quote = (s: string): string => JSON.stringify(s).replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
const show = (name: string): string => quote(name.length > 40 ? name.slice(0, 40) + "…" : name);

/** Why `name` is not a valid name, or undefined when it is. */
export function nameProblem(name: unknown): string | undefined {
  if (typeof name !== "string") return `a name must be a string, got ${typeof name === "object" ? (name === null ? "null" : "an object") : `${typeof name} ${String(name)}`}`;
  if (name.length === 0) return `a name must not be empty (${RULE})`;
  if (name.length > MAX_NAME_LENGTH) return `it is ${name.length} characters long (${RULE})`;
  if (!NAME.test(name)) {
    const dotted = name.includes(".");
    const bad = [...name].find((c) => !/[A-Za-z0-9_.]/.test(c));
    if (bad !== undefined) {
      const cp = bad.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
      return `the character ${quote(bad)} (U+${cp}) is not allowed (${dotted ? DOTTED_RULE : RULE})`;
    }
    if (!dotted) return `a name must not start with a digit (${RULE})`;
    const parts = name.split(".");
    const empty = parts.findIndex((p) => p === "");
    if (empty >= 0) return `${empty === 0 ? "it starts with a dot" : empty === parts.length - 1 ? "it ends with a dot" : "it has two dots in a row"}: ${DOTTED_RULE}`;
    const part = parts.find((p) => !new RegExp(`^${SEGMENT}$`).test(p))!;
    return `the part ${quote(part)} ${/^0[0-9]/.test(part) ? "is a number with a leading zero" : "starts with a digit but is not a number"}: ${DOTTED_RULE}`;
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
  if (why !== undefined) {
    // a dotted name's own code (FG171), so that a malformed state_dict key is told apart from a bad identifier
    const dotted = typeof name === "string" && name.includes(".") && name.length <= MAX_NAME_LENGTH && !RESERVED.has(name);
    throw new FlatgradError(`${kind}: invalid ${dotted ? "dotted name" : "name"}${typeof name === "string" ? ` ${show(name)}` : ""}: ${why}`, undefined, dotted ? "FG171" : "FG110");
  }
  // checkpoints key optimizer state as optimizer.<param>.<state> and optimizer.step: a param or buffer under
  // optimizer. could take one of those keys (a param "optimizer.w.exp_avg" beside a param "w")
  if ((kind === "param" || kind === "buffer") && (name as string).startsWith("optimizer."))
    throw new FlatgradError(
      `${kind}: invalid name ${show(name as string)}: names under "optimizer." are the checkpoint keys of the optimizer's state (optimizer.<param>.<state>, optimizer.step); choose another first part`,
      undefined,
      "FG173",
    );
  return name as string;
}
