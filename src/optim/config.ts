import type { OptimizerConfig } from "../dsl/define.js";
import { FlatgradError, fmtValue, type Site } from "../ir/shape.js";
import { OPTIMIZERS } from "./index.js";
import { closest, TORCH_OPTIMIZER_FIELDS } from "../front/suggest.js";

/** Fields of each optimizer type (besides `type`), from the optimizer table. */
const FIELDS: Record<string, Record<string, "number" | "boolean">> = Object.fromEntries(Object.entries(OPTIMIZERS).map(([k, d]) => [k, d.fields]));
/** Defaults of each optimizer type (clipGradNorm has none: no clipping). */
const DEFAULTS: Record<string, Record<string, number | boolean>> = Object.fromEntries(Object.entries(OPTIMIZERS).map(([k, d]) => [k, d.defaults]));

/** Where a field of the optimizer config is written: [] is the `optimizer` field itself, ["lr"] its `lr`. */
export type OptimizerSites = (path: string[]) => Site | undefined;

/** Check an optimizer config against the known optimizers and fill in the defaults. */
export function checkOptimizer(cfg: unknown, sites: Site | undefined | OptimizerSites): OptimizerConfig {
  const at: OptimizerSites = typeof sites === "function" ? sites : () => sites;
  if (cfg === undefined) return { type: "sgd", ...DEFAULTS.sgd } as OptimizerConfig;
  if (typeof cfg !== "object" || cfg === null || Array.isArray(cfg))
    throw new FlatgradError(`optimizer: expected an object like { type: "sgd", lr: 0.1 }, got ${fmtValue(cfg)}`, at([]), "FG130");
  const o = cfg as Record<string, unknown>;
  const known = Object.keys(FIELDS).join(", ");
  if (!("type" in o)) throw new FlatgradError(`optimizer: the type is missing: write { type: "sgd", ... } (known types: ${known})`, at([]), "FG130");
  const fields = typeof o.type === "string" && Object.hasOwn(FIELDS, o.type) ? FIELDS[o.type] : undefined;
  const typeHint = typeof o.type === "string" ? closest(o.type, Object.keys(FIELDS)) : undefined;
  if (!fields) throw new FlatgradError(`optimizer: unknown type ${fmtValue(o.type)} (known: ${known})${typeHint ? `: did you mean "${typeHint}"?` : ""}`, at(["type"]), "FG130");
  for (const [k, v] of Object.entries(o)) {
    if (k === "type") continue;
    const want = Object.hasOwn(fields, k) ? fields[k] : undefined;
    if (!want) throw new FlatgradError(`optimizer: unknown field "${k}" for ${o.type} (known: ${Object.keys(fields).join(", ")})${fieldHint(k, o.type as string, fields)}`, at([k]), "FG131");
    if (typeof v !== want || (want === "number" && (!Number.isFinite(v) || (v as number) < 0)))
      throw new FlatgradError(`optimizer: ${o.type}.${k} must be a ${want === "number" ? "finite number ≥ 0" : "boolean"}, got ${fmtValue(v)}`, at([k]), "FG132");
  }
  const full = { ...DEFAULTS[o.type as string], ...o } as unknown as OptimizerConfig;
  const def = OPTIMIZERS[full.type] as { check?: (c: OptimizerConfig) => { field: string; message: string } | undefined };
  const bad = def.check?.(full);
  if (bad) throw new FlatgradError(`optimizer: ${bad.message}`, at([bad.field]), "FG132");
  return full;
}

/** What an unknown optimizer field probably meant: a slip, a torch spelling, or a field of another optimizer. */
function fieldHint(k: string, type: string, fields: Record<string, unknown>): string {
  if (k === "betas") return `: torch's betas=(b1, b2) is two fields here, beta1 and beta2 (${"beta1" in fields ? "e.g. beta1: 0.9, beta2: 0.999" : `which ${type} does not have`})`;
  if (k === "momentum" && (type === "adam" || type === "adamw"))
    return `: ${type} has no momentum field: its beta1 (default 0.9) is the momentum of the gradient's running mean; for SGD with momentum write { type: "sgd", momentum: 0.9 }`;
  const near = closest(k, Object.keys(fields), TORCH_OPTIMIZER_FIELDS);
  if (near && near in fields) return `: did you mean ${near}?`;
  const elsewhere = Object.entries(FIELDS).filter(([t, f]) => t !== type && k in f).map(([t]) => t);
  return elsewhere.length ? `: ${k} belongs to ${elsewhere.join(" and ")}` : "";
}
